"""The rules EMQX 5's schema (apps/emqx/src/emqx_schema.erl) and its HOCON
environment overrides enforce, as a check on what revoca rendered (emqx.env
standalone, the ConfigMap in a cluster). Returns the broken rules, [] when
EMQX would take the environment."""
import re

LISTENER = re.compile(r"^EMQX_LISTENERS__SSL__([A-Z][A-Z0-9_]*?)__(BIND|SSL_OPTIONS__[A-Z0-9_]+(?:__[A-Z0-9_]+)*)$")
TOP_LEVEL = {"EMQX_CRL_CACHE__REFRESH_INTERVAL", "EMQX_CRL_CACHE__HTTP_TIMEOUT"}
DURATION = re.compile(r"^[0-9]+(ms|s|m|h|d)$")
# HOCON takes an unquoted string only without these characters.
NEEDS_QUOTES = set(':/"\\ #,{}[]=$')


def broken_emqx_rules(env):
    problems = []
    options = {}
    for name, value in env.items():
        match = LISTENER.match(name)
        if not match and name not in TOP_LEVEL:
            problems.append(f"{name}: not an EMQX listener or crl_cache variable")
            continue
        if "CRL_CACHE" in name and name not in TOP_LEVEL:
            problems.append(f"{name}: crl_cache is a top-level EMQX setting, not a listener one")
        quoted = len(value) >= 2 and value[0] == value[-1] == '"'
        if not quoted and any(c in NEEDS_QUOTES for c in value):
            problems.append(f"{name}={value}: HOCON needs quotes around this value")
        if name.endswith(("REFRESH_INTERVAL", "HTTP_TIMEOUT")) and not DURATION.match(value):
            problems.append(f"{name}={value}: not an EMQX duration")
        if match:
            options[match.group(2)] = value.strip('"')
    verify_peer = options.get("SSL_OPTIONS__VERIFY") == "verify_peer"
    if options.get("SSL_OPTIONS__ENABLE_CRL_CHECK") == "true" and not verify_peer:
        problems.append("ENABLE_CRL_CHECK without verify_peer")
    if options.get("SSL_OPTIONS__FAIL_IF_NO_PEER_CERT") == "true" and not verify_peer:
        problems.append("FAIL_IF_NO_PEER_CERT without verify_peer")
    if options.get("SSL_OPTIONS__OCSP__ENABLE_OCSP_STAPLING") == "true":
        for needed in ("SSL_OPTIONS__OCSP__RESPONDER_URL", "SSL_OPTIONS__OCSP__ISSUER_PEM", "SSL_OPTIONS__CERTFILE"):
            if not options.get(needed):
                problems.append(f"OCSP stapling without {needed}")
        if not options.get("SSL_OPTIONS__OCSP__RESPONDER_URL", "/").endswith("/"):
            problems.append("OCSP__RESPONDER_URL must end with / (EMQX appends the base64 request)")
    return problems
