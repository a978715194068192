import socket
import time

import pytest

from hospital_sdk import OpenApiClient

from fake_server import FakeOpenApi, FakeServer

KEY_ID = "hk_0123456789abcdef01234567"
SECRET = "hs_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"


class FakeTime:
    """The client's clock and sleep: sleeping moves the clock on, nothing really waits."""

    def __init__(self):
        self.now = float(int(time.time()))
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def api():
    return FakeOpenApi(keys={KEY_ID: SECRET})


@pytest.fixture
def server(api):
    with FakeServer(api) as running:
        yield running


@pytest.fixture
def fake_time():
    return FakeTime()


@pytest.fixture
def make_client(server, fake_time):
    made = []

    def make(**kwargs):
        # a read timeout well above a loaded machine's answer time, well below a hang
        options = dict(timeout=(1.0, 1.5), max_retries=3, clock=fake_time.clock,
                       sleep=fake_time.sleep, random=lambda: 0.5, backoff_base=2.0,
                       backoff_max=30.0)
        options.update(kwargs)
        client = OpenApiClient(options.pop("base_url", server.url), options.pop("key_id", KEY_ID),
                               options.pop("secret", SECRET), **options)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client(make_client):
    return make_client()


@pytest.fixture
def closed_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port
