#!/usr/bin/env escript
%%! -noinput
%% What EMQX 5 does with revoca's outputs, on the Erlang/OTP stack EMQX is
%% built on (ssl, public_key, inets), following EMQX's own code
%% (emqx_crl_cache, emqx_ssl_crl_cache, emqx_ocsp_cache):
%%
%%   crl CERT ISSUER             fetch the CRL named by CERT's CRL Distribution
%%                               Point with httpc, decode it (PEM, else DER) and
%%                               check CERT with public_key:pkix_crls_validate/3
%%   server PORT CERT KEY CACERT CRL_URL[,CRL_URL...]
%%                               an ssl server as EMQX configures its listener:
%%                               verify_peer, fail_if_no_peer_cert, crl_check
%%                               peer, and OTP's CRL cache fed from each CRL_URL
%%                               the way emqx_crl_cache feeds it (fetched again
%%                               before each handshake, a refresh interval of
%%                               zero); one line per handshake: "accepted" or
%%                               "refused <reason>"
%%   ocsp URL ISSUER CERT        the OCSP request of emqx_ocsp_cache (SHA-1
%%                               CertID from the first certificate of ISSUER),
%%                               GET URL ++ base64, the answer checked with
%%                               public_key: "good", "revoked <reason>", ...
-include_lib("public_key/include/public_key.hrl").

main(["crl", CertFile, IssuerFile]) -> run(fun() -> crl(CertFile, IssuerFile) end);
main(["server", Port, Cert, Key, CaCert, CrlUrls]) ->
    run(fun() -> server(list_to_integer(Port), Cert, Key, CaCert, string:split(CrlUrls, ",", all)) end);
main(["ocsp", Url, IssuerFile, CertFile]) -> run(fun() -> ocsp(Url, IssuerFile, CertFile) end);
main(_) ->
    io:format(standard_error, "usage: emqx_tls.escript crl|server|ocsp ...~n", []),
    halt(2).

run(Fun) ->
    logger:set_primary_config(level, error),  % the verdicts are the output, not ssl's notices
    {ok, _} = application:ensure_all_started(ssl),
    {ok, _} = application:ensure_all_started(inets),
    Fun(),
    halt(0).

first_der(File) ->
    {ok, Pem} = file:read_file(File),
    [{'Certificate', Der, not_encrypted} | _] = public_key:pem_decode(Pem),
    Der.

%% emqx_crl_cache: httpc GET, then PEM, with DER as the fallback.
fetch_crl(Url) ->
    {ok, {{_, 200, _}, _, Body}} =
        httpc:request(get, {Url, [{"connection", "close"}]}, [{timeout, 15000}], [{body_format, binary}]),
    case [Der || {'CertificateList', Der, not_encrypted} <- public_key:pem_decode(Body)] of
        [] -> [Body];
        Ders -> Ders
    end.

dist_point_urls(OtpCert) ->
    [Url || #'DistributionPoint'{distributionPoint = {fullName, Names}} <- public_key:pkix_dist_points(OtpCert),
            {uniformResourceIdentifier, Url} <- Names].

crl(CertFile, IssuerFile) ->
    CertDer = first_der(CertFile),
    IssuerDer = first_der(IssuerFile),
    Cert = public_key:pkix_decode_cert(CertDer, otp),
    Issuer = public_key:pkix_decode_cert(IssuerDer, otp),
    [Url | _] = dist_point_urls(Cert),
    [DP | _] = public_key:pkix_dist_points(Cert),
    Crls = [{DP, {Der, public_key:der_decode('CertificateList', Der)}} || Der <- fetch_crl(Url)],
    IssuerFun = fun(_DP, _Crl, _Name, Found) -> Found end,  % one CA, the one given
    Result = public_key:pkix_crls_validate(Cert, Crls,
                                           [{issuer_fun, {IssuerFun, {ok, Issuer, [IssuerDer]}}}]),
    case Result of
        valid -> io:format("valid~n");
        {bad_cert, {revoked, Reason}} -> io:format("revoked ~p~n", [Reason]);
        Other -> io:format("other ~p~n", [Other])
    end.

server(Port, Cert, Key, CaCert, CrlUrls) ->
    Options = [{certfile, Cert}, {keyfile, Key}, {cacertfile, CaCert},
               {verify, verify_peer}, {fail_if_no_peer_cert, true},
               {crl_check, peer}, {crl_cache, {ssl_crl_cache, {internal, [{http, 15000}]}}},
               {reuseaddr, true}, {active, false}, {ip, {127, 0, 0, 1}}],
    {ok, Listen} = ssl:listen(Port, Options),
    io:format("listening~n"),
    accept(Listen, CrlUrls).

accept(Listen, CrlUrls) ->
    {ok, Socket} = ssl:transport_accept(Listen),
    %% emqx_crl_cache: each CRL is fetched by URL and put in OTP's cache under it.
    [ok = ssl_crl_cache:insert(CrlUrl, {der, fetch_crl(CrlUrl)}) || CrlUrl <- CrlUrls],
    case ssl:handshake(Socket, 15000) of
        {ok, Tls} ->
            io:format("accepted~n"),
            ssl:close(Tls);
        {error, Reason} ->
            io:format("refused ~w~n", [Reason])  % one line
    end,
    accept(Listen, CrlUrls).

%% emqx_ocsp_cache:build_ocsp_request/2, then the answer checked by public_key.
ocsp(Url, IssuerFile, CertFile) ->
    IssuerDer = first_der(IssuerFile),
    #'Certificate'{tbsCertificate = #'TBSCertificate'{serialNumber = Serial, issuer = IssuerName}} =
        public_key:der_decode('Certificate', first_der(CertFile)),
    #'Certificate'{tbsCertificate = #'TBSCertificate'{
        subjectPublicKeyInfo = #'SubjectPublicKeyInfo'{subjectPublicKey = IssuerKey}}} =
        public_key:der_decode('Certificate', IssuerDer),
    CertId = #'CertID'{hashAlgorithm = #'AlgorithmIdentifier'{algorithm = ?'id-sha1', parameters = <<5, 0>>},
                       issuerNameHash = crypto:hash(sha, public_key:der_encode('Name', IssuerName)),
                       issuerKeyHash = crypto:hash(sha, IssuerKey),
                       serialNumber = Serial},
    Request = #'OCSPRequest'{tbsRequest = #'TBSRequest'{version = 0, requestList = [#'Request'{reqCert = CertId}]}},
    Encoded = base64:encode_to_string(public_key:der_encode('OCSPRequest', Request)),
    {ok, {{_, 200, _}, _, Body}} =
        httpc:request(get, {Url ++ Encoded, [{"connection", "close"}]}, [{timeout, 15000}], [{body_format, binary}]),
    #'OCSPResponse'{responseStatus = successful,
                    responseBytes = #'ResponseBytes'{responseType = ?'id-pkix-ocsp-basic', response = Basic}} =
        public_key:der_decode('OCSPResponse', Body),
    #'BasicOCSPResponse'{tbsResponseData = Data, signatureAlgorithm = #'AlgorithmIdentifier'{algorithm = SigAlg},
                         signature = Signature} = public_key:der_decode('BasicOCSPResponse', Basic),
    #'ResponseData'{responderID = {byKey, KeyHash}, responses = Responses} = Data,
    KeyHash = crypto:hash(sha, IssuerKey),  % signed by the issuing CA itself
    Issuer = public_key:pkix_decode_cert(IssuerDer, otp),
    true = public_key:verify(public_key:der_encode('ResponseData', Data), digest_of(SigAlg), Signature,
                             public_key_of(Issuer)),
    [Status | _] = [S || #'SingleResponse'{certID = #'CertID'{serialNumber = N}, certStatus = S} <- Responses,
                         N =:= Serial],
    case Status of
        {good, _} -> io:format("good~n");
        {revoked, #'RevokedInfo'{revocationReason = Reason}} -> io:format("revoked ~p~n", [Reason]);
        {unknown, _} -> io:format("unknown~n")
    end.

digest_of(Alg) ->
    {Digest, _} = public_key:pkix_sign_types(Alg),
    Digest.

public_key_of(#'OTPCertificate'{tbsCertificate = #'OTPTBSCertificate'{subjectPublicKeyInfo = Info}}) ->
    #'OTPSubjectPublicKeyInfo'{subjectPublicKey = Key,
                               algorithm = #'PublicKeyAlgorithm'{parameters = Params}} = Info,
    case Key of
        #'RSAPublicKey'{} -> Key;
        _ -> {Key, Params}
    end.
