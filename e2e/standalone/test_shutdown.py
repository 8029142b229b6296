"""How revoca standalone stops: at once on SIGTERM by default, as nothing
routes around a lone instance; with --shutdown-delay, behind a load balancer
that probes /readyz, it fails /readyz and keeps answering for the delay."""
import signal
import time

from conftest import http, wait_for


def test_sigterm_stops_at_once_by_default(standalone_factory):
    revoca = standalone_factory().start()
    signalled = time.monotonic()
    revoca.process.send_signal(signal.SIGTERM)
    assert revoca.process.wait(timeout=10) == 0
    assert time.monotonic() - signalled < 2
    assert "drain" not in revoca.log.read_text()


def test_shutdown_delay_fails_readyz_and_keeps_answering_until_it_is_over(standalone_factory):
    delay = 2
    revoca = standalone_factory(extra_args=["--shutdown-delay", delay]).start()
    signalled = time.monotonic()
    revoca.process.send_signal(signal.SIGTERM)
    wait_for(lambda: http("GET", revoca.base + "/readyz", timeout=1)[0] == 503, timeout=1.5,
             what="/readyz answers 503 after SIGTERM")
    assert http("GET", revoca.base + "/healthz")[0] == 200
    assert http("GET", revoca.base + "/crl/default/mqtt-ca/1")[0] == 200
    assert revoca.process.wait(timeout=delay + 10) == 0
    assert time.monotonic() - signalled >= delay - 0.5
    log = revoca.log.read_text()
    assert "draining" in log and "drain over" in log
