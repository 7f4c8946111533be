from access_requests.workflow import State


def test_make_request_reaches_every_state(make_request):
    for state in State.values:
        assert make_request(state).state == state
