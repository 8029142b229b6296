#!/usr/bin/env escript
%%! -noinput
%% An OCSP answer as Erlang/OTP's public_key sees it: what OTP's ssl does with
%% a stapled answer (ssl_certificate), with the issuer as a responder it trusts.
%%
%%   ocsp_validate.escript RESPONSE.der CERT.pem ISSUER.pem
%%
%% prints "good", "revoked <reason>" or "undetermined <why>" (a bad
%% signature, an answer about another certificate, ...).
%%
%% public_key:pkix_ocsp_validate/5 does it from OTP 27 on. Up to OTP 26 it
%% fails on every EC responder key and on every answer without `certs` (Let's
%% Encrypt's, an intermediate CA's of revoca): both fixed in OTP 27 by
%% erlang/otp#8353. Where it fails so, the same checks are made here with
%% public_key's own decoder and primitives, as OTP 27 makes them, and a line
%% on stderr says so.
-include_lib("public_key/include/public_key.hrl").

main([ResponseFile, CertFile, IssuerFile]) ->
    {ok, Response} = file:read_file(ResponseFile),
    io:format("~s~n", [verdict(validate(first_der(CertFile), first_der(IssuerFile), Response))]),
    halt(0);
main(_) ->
    io:format(standard_error, "usage: ocsp_validate.escript RESPONSE.der CERT.pem ISSUER.pem~n", []),
    halt(2).

first_der(File) ->
    {ok, Pem} = file:read_file(File),
    [{'Certificate', Der, not_encrypted} | _] = public_key:pem_decode(Pem),
    Der.

%% No nonce: the answers were asked for without one.
validate(CertDer, IssuerDer, Response) ->
    case list_to_integer(erlang:system_info(otp_release)) of
        Release when Release >= 27 ->
            public_key:pkix_ocsp_validate(CertDer, IssuerDer, Response, undefined, []);
        _ ->
            %% Up to OTP 26 the caller lists the responders it trusts besides
            %% the answer's `certs` (ssl's ocsp_responder_certs option).
            Issuer = public_key:pkix_decode_cert(IssuerDer, otp),
            try
                public_key:pkix_ocsp_validate(CertDer, Issuer, Response, [Issuer], undefined)
            catch
                error:Why:Stack ->
                    case failed_in(Stack) of
                        %% An EC key; no certs (asn1_NOVALUE ++ [...]).
                        Function when Function =:= enc_pub_key; Function =:= do_verify_ocsp_response ->
                            io:format(standard_error, "pkix_ocsp_validate failed in pubkey_ocsp:~p (~0p): "
                                      "checked with public_key's primitives instead~n", [Function, Why]),
                            check(CertDer, IssuerDer, Response);
                        _ ->
                            erlang:raise(error, Why, Stack)
                    end
            end
    end.

%% The pubkey_ocsp function an error came from, past the BIF it called.
failed_in([{erlang, _, _, _} | Below]) -> failed_in(Below);
failed_in([{pubkey_ocsp, Function, _, _} | _]) -> Function;
failed_in(_) -> elsewhere.

%% OTP 27's pkix_ocsp_validate, step by step, with OTP 25's decoder and primitives.
check(CertDer, IssuerDer, Response) ->
    #'OCSPResponse'{responseStatus = successful,
                    responseBytes = #'ResponseBytes'{responseType = ?'id-pkix-ocsp-basic', response = Basic}} =
        public_key:der_decode('OCSPResponse', Response),
    #'BasicOCSPResponse'{tbsResponseData = Data, signatureAlgorithm = #'AlgorithmIdentifier'{algorithm = SigAlg},
                         signature = Signature, certs = Certs} = public_key:der_decode('BasicOCSPResponse', Basic),
    #'ResponseData'{responderID = ResponderId, responses = Responses} = Data,
    %% The signer: named by the ResponderID, among the answer's certs and the
    %% issuer, and authorized, which revoca's signer is by being the issuer.
    %% (A delegated responder would need its EKU and the issuer's signature
    %% checked; revoca has none, so none is accepted here.)
    Candidates = [public_key:der_encode('Certificate', C) || C <- listed(Certs)] ++ [IssuerDer],
    {Digest, _} = public_key:pkix_sign_types(SigAlg),
    Signed = public_key:der_encode('ResponseData', Data),
    case [C || C <- Candidates, named(ResponderId, C), C =:= IssuerDer] of
        [] ->
            {bad_cert, {revocation_status_undetermined, ocsp_responder_cert_not_found}};
        [Signer | _] ->
            case public_key:verify(Signed, Digest, Signature, public_key_of(Signer)) of
                false -> {bad_cert, {revocation_status_undetermined, ocsp_response_bad_signature}};
                true -> status(about(CertDer, IssuerDer, Responses))
            end
    end.

listed(asn1_NOVALUE) -> [];
listed(Certs) -> Certs.

tbs(Der) ->
    #'Certificate'{tbsCertificate = Tbs} = public_key:der_decode('Certificate', Der),
    Tbs.

key_bits(Der) ->
    #'TBSCertificate'{subjectPublicKeyInfo = #'SubjectPublicKeyInfo'{subjectPublicKey = Bits}} = tbs(Der),
    Bits.

subject_der(Der) ->
    public_key:der_encode('Name', (tbs(Der))#'TBSCertificate'.subject).

named({byKey, Hash}, Der) -> Hash =:= crypto:hash(sha, key_bits(Der));
named({byName, Name}, Der) -> public_key:der_encode('Name', Name) =:= subject_der(Der).

%% The SingleResponse whose CertID is CERT's under ISSUER.
about(CertDer, IssuerDer, Responses) ->
    Serial = (tbs(CertDer))#'TBSCertificate'.serialNumber,
    Matches = fun(#'CertID'{hashAlgorithm = #'AlgorithmIdentifier'{algorithm = Alg}, issuerNameHash = NameHash,
                            issuerKeyHash = KeyHash, serialNumber = N}) ->
                      Hash = public_key:pkix_hash_type(Alg),
                      N =:= Serial andalso NameHash =:= crypto:hash(Hash, subject_der(IssuerDer))
                          andalso KeyHash =:= crypto:hash(Hash, key_bits(IssuerDer))
              end,
    [S || #'SingleResponse'{certID = Id} = S <- Responses, Matches(Id)].

status([#'SingleResponse'{certStatus = {good, _}} | _]) -> valid;
status([#'SingleResponse'{certStatus = {revoked, Info}} | _]) -> {bad_cert, {revoked, Info}};
status([#'SingleResponse'{certStatus = {unknown, _}} | _]) -> {bad_cert, {revocation_status_undetermined, unknown}};
status([]) -> {bad_cert, {revocation_status_undetermined, no_matched_response}}.

public_key_of(Der) ->
    #'OTPCertificate'{tbsCertificate = #'OTPTBSCertificate'{subjectPublicKeyInfo = Info}} =
        public_key:pkix_decode_cert(Der, otp),
    #'OTPSubjectPublicKeyInfo'{subjectPublicKey = Key, algorithm = #'PublicKeyAlgorithm'{parameters = Params}} = Info,
    case Key of
        #'RSAPublicKey'{} -> Key;
        _ -> {Key, Params}
    end.

%% OTP 27 wraps OTP 25's answers in {ok, _} and {error, _}.
verdict(valid) -> "good";
verdict({ok, _Details}) -> "good";
verdict({error, {bad_cert, _} = Bad}) -> verdict(Bad);
verdict({bad_cert, {revoked, #'RevokedInfo'{revocationReason = Reason}}}) -> io_lib:format("revoked ~p", [Reason]);
verdict({bad_cert, Why}) -> io_lib:format("undetermined ~0p", [Why]).
