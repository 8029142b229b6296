"""What an HTTP cache in front of the responder (a proxy, a CDN) may do with
a CRL: keep it for spec.crl.cacheMaxAge, not until nextUpdate a day later,
and revalidate it with If-None-Match or If-Modified-Since, which the
responder answers 304 until a revocation publishes a new CRL."""
import calendar
import email.utils
import http.client
import re
import time

from conftest import openssl, wait_for

CRL = "/crl/default/mqtt-ca/1"


def get(instance, path=CRL, **headers):
    connection = http.client.HTTPConnection("127.0.0.1", instance.port, timeout=5)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def max_age(headers):
    match = re.fullmatch(r"public, max-age=(\d+)", headers["cache-control"])
    assert match, headers["cache-control"]
    return int(match.group(1))


def epoch(http_date):
    return email.utils.parsedate_to_datetime(http_date).timestamp()


def this_update(instance, der, tmp_path):
    path = tmp_path / "crl.der"
    path.write_bytes(der)
    line = openssl("crl", "-inform", "DER", "-in", path, "-noout", "-lastupdate").stdout.strip()
    return calendar.timegm(time.strptime(line.split("=", 1)[1], "%b %d %H:%M:%S %Y GMT"))


def with_cache_max_age(instance, value):
    ca = instance.declarations / "mqtt-ca.yaml"
    ca.write_text(re.sub(r"(\n  crl:\n    validity: 1d\n)(    cacheMaxAge: .*\n)?",
                         lambda m: m.group(1) + f"    cacheMaxAge: {value}\n", ca.read_text()))


def test_a_cache_keeps_the_crl_for_cache_max_age_and_revalidates_until_a_revocation(standalone_factory, tmp_path):
    instance = standalone_factory()
    with_cache_max_age(instance, "2m")
    instance.start()

    status, headers, body = get(instance)
    assert status == 200
    # Two minutes, not the day until nextUpdate; Expires agrees for HTTP/1.0 caches.
    assert 110 <= max_age(headers) <= 120, headers
    assert epoch(headers["expires"]) - epoch(headers["date"]) == max_age(headers)
    assert epoch(headers["last-modified"]) == this_update(instance, body, tmp_path)
    etag = headers["etag"]
    assert re.fullmatch(r'"v1-n\d+-[0-9a-f]{16}"', etag), etag
    assert get(instance, "/crl-pem/default/mqtt-ca/1")[1]["etag"] != etag

    status, revalidated, body304 = get(instance, **{"If-None-Match": etag})
    assert status == 304 and body304 == b""
    assert revalidated["etag"] == etag and max_age(revalidated) <= 120
    status, _, body304 = get(instance, **{"If-Modified-Since": headers["last-modified"]})
    assert status == 304 and body304 == b""

    # A revocation one second later gives a CRL with a later thisUpdate, so
    # the old date no longer matches either.
    wait_for(lambda: time.time() >= epoch(headers["last-modified"]) + 1, what="the next second")
    issued = instance.ctl("issue-cert", "--ca", "mqtt-ca", "--host", "client.example", "--ttl", "1d",
                          "--cert-type", "client")
    instance.ctl("revoke-cert", "--ca", "mqtt-ca", "--reason", "keyCompromise", issued["serial"])
    status, fresh, new_body = get(instance, **{"If-None-Match": etag})
    assert status == 200 and new_body != body
    assert fresh["etag"] != etag
    serial = issued["serial"].upper()
    (tmp_path / "new.der").write_bytes(new_body)
    listed = openssl("crl", "-inform", "DER", "-in", tmp_path / "new.der", "-noout", "-text").stdout
    assert serial in listed.replace(":", "").upper()
    assert get(instance, **{"If-Modified-Since": headers["last-modified"]})[0] == 200
    assert get(instance, **{"If-None-Match": fresh["etag"]})[0] == 304
    assert get(instance, **{"If-Modified-Since": fresh["last-modified"]})[0] == 304


def test_cache_max_age_follows_the_declaration_and_a_bad_one_names_its_field(standalone_factory):
    instance = standalone_factory().start()
    assert 290 <= max_age(get(instance)[1]) <= 300  # the default, 5m

    with_cache_max_age(instance, "30s")
    wait_for(lambda: max_age(get(instance)[1]) <= 30, what="max-age to follow spec.crl.cacheMaxAge")

    with_cache_max_age(instance, "2d")
    status = wait_for(lambda: (lambda s: s if s and not s["ready"] else None)(
        instance.status("CertificateAuthority", "mqtt-ca")), what="mqtt-ca to be marked not Ready")
    assert "spec.crl.cacheMaxAge" in status["message"] and "longer than validity 1d" in status["message"]
    # The responder goes on serving the CRL it has.
    assert get(instance)[0] == 200
