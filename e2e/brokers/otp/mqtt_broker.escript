#!/usr/bin/env escript
%%! -noinput
%% A minimal MQTT 3.1.1 broker over TLS on Erlang/OTP's ssl alone, standing in
%% for EMQX (built on the same ssl and public_key) where a real broker has to
%% hold client connections: the listener is configured as EMQX configures its
%% ssl listener with enable_crl_check, and the CRL cache is fed as EMQX's
%% emqx_ssl_crl_cache and emqx_crl_cache feed it.
%%
%%   mqtt_broker.escript [TLS_DIR]
%%
%% Environment (all optional):
%%   BROKER_PORT                 listen port on 0.0.0.0 (8883)
%%   BROKER_TLS_DIR              directory of the files below (., or the argument)
%%   BROKER_CERTFILE             server certificate chain (server-cert.pem)
%%   BROKER_KEYFILE              its key (server-cert.key)
%%   BROKER_CACERTFILE           CAs client certificates must chain to (server-ca-cert.pem)
%%                               (relative names are taken in BROKER_TLS_DIR)
%%   BROKER_CRL_REFRESH_SECONDS  how often each CRL URL seen is fetched again (60)
%%   BROKER_CRL_HTTP_TIMEOUT_MS  timeout of one CRL fetch (5000)
%%   BROKER_PEM_CACHE_CLEAN_MS   ssl's ssl_pem_cache_clean: how often OTP forgets
%%                               the PEM files it read (OTP's default: 2 minutes)
%% Unset, the port, the three files and the CRL refresh and timeout are taken
%% from the EMQX environment revoca renders for an EmqxDeployment (emqx.env,
%% the ConfigMap of a cluster) where it is there: EMQX_LISTENERS__SSL__<NAME>__
%% BIND and SSL_OPTIONS__CERTFILE, KEYFILE, CACERTFILE, and
%% EMQX_CRL_CACHE__REFRESH_INTERVAL and HTTP_TIMEOUT; so the broker can run in
%% the pod revoca makes from the EmqxDeployment's podTemplate.
%%
%% Protocol: CONNECT, SUBSCRIBE (exact topics, '+' and '#'), UNSUBSCRIBE,
%% PUBLISH QoS 0, 1 (PUBACK) and 2 (PUBREC/PUBCOMP) delivered to subscribers
%% at QoS 0, PINGREQ, DISCONNECT; no retained messages, no will, no sessions.
%% Subscribing to $SYS/broker/clients/connected answers with the number of
%% connected clients (as mosquitto's topic of that name does).
%%
%% Output, one line per event on stdout:
%%   listening PORT
%%   connected CLIENTID SERIAL       SERIAL: the client certificate's, hex as openssl prints it
%%   closed CLIENTID REASON          disconnect, peer_closed, keepalive_timeout, taken_over, ...
%%   refused REASON PEER             a failed TLS handshake; REASON is OTP's alert
%%                                   (certificate_revoked, certificate_required, ...)
%%   dropped PEER REASON             TLS up, but no valid CONNECT
%%   crl URL ENTRIES                 a CRL fetched (first time, or changed) into OTP's cache
%%   crl_failed URL REASON           a refresh failed; the CRL cached before stays
-module(mqtt_broker).
-mode(compile).  % so that ssl can call back into this module (lookup/3 below)
-export([main/1, lookup/3, select/2, fresh_crl/2]).
-include_lib("public_key/include/public_key.hrl").

-define(ACCEPTORS, 8).
-define(CONNECT_TIMEOUT, 30000).  % TLS handshake, then CONNECT, each within this

main(Args) ->
    logger:set_primary_config(level, error),  % ssl's notice per failed handshake: our "refused" says it
    Dir = case Args of [D | _] -> D; [] -> env("BROKER_TLS_DIR", ".") end,
    File = fun(Var, Emqx, Default) -> filename:absname(env(Var, emqx_listener(Emqx, Default)), Dir) end,
    Bind = emqx_listener("BIND", "0.0.0.0:8883"),
    Port = list_to_integer(env("BROKER_PORT", lists:last(string:split(Bind, ":", trailing)))),
    HttpTimeout = list_to_integer(env("BROKER_CRL_HTTP_TIMEOUT_MS",
                                      ms(env("EMQX_CRL_CACHE__HTTP_TIMEOUT", "5000ms")))),
    RefreshMs = list_to_integer(env("BROKER_CRL_REFRESH_SECONDS", "0")) * 1000,
    CrlRefresh = case RefreshMs of
                     0 -> list_to_integer(ms(env("EMQX_CRL_CACHE__REFRESH_INTERVAL", "60s")));
                     _ -> RefreshMs
                 end,
    ok = application:load(ssl),
    %% Read by ssl_pem_cache when ssl starts: each interval OTP drops the PEM
    %% files it cached, so the next handshakes read rotated files again.
    case os:getenv("BROKER_PEM_CACHE_CLEAN_MS") of
        false -> ok;
        Ms -> application:set_env(ssl, ssl_pem_cache_clean, list_to_integer(Ms))
    end,
    {ok, _} = application:ensure_all_started(ssl),
    {ok, _} = application:ensure_all_started(inets),
    %% Owned by this process, which lives as long as the broker.
    ets:new(subscriptions, [bag, public, named_table]),  % {Topic, Pid}: looked up by topic
    ets:new(wildcards, [bag, public, named_table]),      % {Filter, Pid} with + or #: scanned
    ets:new(clients, [set, public, named_table]),        % {ClientId, Pid}
    ets:new(crl_urls, [set, public, named_table]),       % {Url}: seen by lookup/3
    register(crl_refresher, spawn_link(fun() ->
        crl_refresher(CrlRefresh, HttpTimeout, #{})
    end)),
    %% EMQX's listener with ssl_options.enable_crl_check = true (emqx_listeners:
    %% inject_crl_config): crl_check peer ("true doesn't work"), and a CRL cache
    %% module over OTP's internal cache that fetches by the certificate's CRL
    %% Distribution Point. EMQX's module is emqx_ssl_crl_cache, ours is this one.
    Options = [{certfile, File("BROKER_CERTFILE", "SSL_OPTIONS__CERTFILE", "server-cert.pem")},
               {keyfile, File("BROKER_KEYFILE", "SSL_OPTIONS__KEYFILE", "server-cert.key")},
               {cacertfile, File("BROKER_CACERTFILE", "SSL_OPTIONS__CACERTFILE", "server-ca-cert.pem")},
               {verify, verify_peer}, {fail_if_no_peer_cert, true},
               {crl_check, peer}, {crl_cache, {?MODULE, {internal, [{http, HttpTimeout}]}}},
               {hibernate_after, 5000},  % thousands of idle connections: keep ssl's processes small
               {ip, {0, 0, 0, 0}}, {reuseaddr, true}, {backlog, 1024}, {nodelay, true},
               {mode, binary}, {active, false}],
    {ok, Listen} = ssl:listen(Port, Options),
    log("listening ~B crl_refresh_ms ~B", [Port, CrlRefresh]),
    [spawn_link(fun() -> acceptor(Listen) end) || _ <- lists:seq(1, ?ACCEPTORS)],
    receive after infinity -> ok end.

env(Name, Default) ->
    case os:getenv(Name) of
        false -> Default;
        "" -> Default;
        Value -> Value
    end.

%% EMQX_LISTENERS__SSL__<any listener name>__SUFFIX, its HOCON quotes off.
emqx_listener(Suffix, Default) ->
    Values = [string:trim(Value, both, "\"") || Var <- os:getenv(),
                                                [Name, Value] <- [string:split(Var, "=")],
                                                lists:prefix("EMQX_LISTENERS__SSL__", Name),
                                                lists:suffix("__" ++ Suffix, Name),
                                                length(string:split(Name, "__", all)) =:= 3 + length(string:split(Suffix, "__", all))],
    case Values of
        [Value | _] -> Value;
        [] -> Default
    end.

%% A HOCON duration (500ms, 15s, 5m, 1h) in milliseconds, as a string.
ms(Duration) ->
    {Number, Unit} = string:to_integer(Duration),
    integer_to_list(Number * maps:get(Unit, #{"ms" => 1, "s" => 1000, "m" => 60000, "h" => 3600000})).

%% One line per event; io:format goes to the port of stdout unbuffered, so
%% each line is out when the call returns.
log(Format, Args) -> io:format(Format ++ "~n", Args).

%%% CRL cache ------------------------------------------------------------------
%% OTP 25's ssl_crl_cache, given {internal, [{http, T}]}, fetches the CRL of
%% a Distribution Point it has no entry for on every handshake, and keeps
%% nothing it fetched ("insert/2 ... need to implement cache limit", its
%% comment says): only CRLs put in with ssl_crl_cache:insert/2 are cached, and
%% those forever. Its fresh_crl/2, called when a cached CRL's nextUpdate has
%% passed, never fetches either. EMQX therefore has emqx_ssl_crl_cache, which
%% registers each URL fetched on a miss with emqx_crl_cache, and that inserts
%% the CRL and fetches it again every refresh_interval. Here the same, with
%% OTP's own module for the lookups: a URL seen on a miss goes to
%% crl_refresher, which keeps it in OTP's cache and refreshes it.

lookup(#'DistributionPoint'{distributionPoint = {fullName, Names}} = DP, Issuer, DbInfo) ->
    [crl_refresher ! {seen, Url} || {uniformResourceIdentifier, "http" ++ _ = Url} <- Names,
                                    ets:insert_new(crl_urls, {Url})],
    ssl_crl_cache:lookup(DP, Issuer, DbInfo);
lookup(DP, Issuer, DbInfo) ->
    ssl_crl_cache:lookup(DP, Issuer, DbInfo).

select(Issuer, DbInfo) -> ssl_crl_cache:select(Issuer, DbInfo).

%% A CRL past its nextUpdate: fetch it again instead of using it as it is.
fresh_crl(#'DistributionPoint'{distributionPoint = {fullName, Names}}, CRL) ->
    Fresh = [Ders || {uniformResourceIdentifier, "http" ++ _ = Url} <- Names,
                     {ok, Ders} <- [fetch_crl(Url, 5000)]],
    case Fresh of
        [[Der | _] | _] -> Der;
        _ -> CRL
    end;
fresh_crl(_, CRL) -> CRL.

%% Every URL seen, fetched when first seen and then every RefreshMs. OTP's cache
%% is keyed by the URL's path alone (ssl_crl_cache:insert/2 keeps only the
%% path), so URLs differing in host only share an entry: revoca's differ in path.
crl_refresher(RefreshMs, HttpTimeout, Cached) ->
    receive
        {seen, Url} ->
            crl_refresher(RefreshMs, HttpTimeout, refresh(Url, HttpTimeout, Cached));
        refresh ->
            crl_refresher(RefreshMs, HttpTimeout,
                          lists:foldl(fun(Url, Acc) -> refresh(Url, HttpTimeout, Acc) end, Cached,
                                      maps:keys(Cached)))
    after RefreshMs ->
        self() ! refresh,
        crl_refresher(RefreshMs, HttpTimeout, Cached)
    end.

refresh(Url, HttpTimeout, Cached) ->
    Old = maps:get(Url, Cached, []),
    case fetch_crl(Url, HttpTimeout) of
        {ok, Old} -> Cached;
        {ok, New} ->
            %% insert/2 replaces the URL's entry, but each CRL is also added to
            %% an issuer-to-CRLs bag (used by select/2) that never drops one:
            %% take the previous CRLs out of it.
            ok = ssl_crl_cache:insert(Url, {der, New}),
            Old =/= [] andalso ssl_crl_cache:delete({der, Old}),
            log("crl ~s ~B", [Url, lists:sum([revoked_count(Der) || Der <- New])]),
            Cached#{Url => New};
        {error, Reason} ->
            log("crl_failed ~s ~0p", [Url, Reason]),
            Cached#{Url => Old}
    end.

%% What emqx_crl_cache does: GET, 200 only, PEM (with DER as the fallback,
%% as OTP's own fetch takes either).
fetch_crl(Url, Timeout) ->
    case httpc:request(get, {Url, [{"connection", "close"}]}, [{timeout, Timeout}], [{body_format, binary}]) of
        {ok, {{_, 200, _}, _, Body}} ->
            try
                case [Der || {'CertificateList', Der, not_encrypted} <- public_key:pem_decode(Body)] of
                    [] -> public_key:der_decode('CertificateList', Body), {ok, [Body]};
                    Ders -> {ok, Ders}
                end
            catch _:_ -> {error, not_a_crl}
            end;
        {ok, {{_, Status, _}, _, _}} -> {error, {http, Status}};
        {error, Reason} -> {error, Reason}
    end.

revoked_count(Der) ->
    #'CertificateList'{tbsCertList = #'TBSCertList'{revokedCertificates = Revoked}} =
        public_key:der_decode('CertificateList', Der),
    case Revoked of
        asn1_NOVALUE -> 0;
        List -> length(List)
    end.

%%% Connections -----------------------------------------------------------------

%% The handshake runs in the connection's own process, so a slow or refused
%% client never holds up accepting the others.
acceptor(Listen) ->
    case ssl:transport_accept(Listen) of
        {ok, Socket} ->
            Pid = spawn(fun() -> receive go -> handshake(Socket) end end),
            case ssl:controlling_process(Socket, Pid) of
                ok -> Pid ! go;
                {error, Reason} ->  % the connection is gone already
                    exit(Pid, kill),
                    log("refused ~0p ~s", [Reason, peer(Socket)])
            end;
        {error, Reason} ->
            log("accept_failed ~0p", [Reason]),
            timer:sleep(100)  % out of file descriptors, say: not in a tight loop
    end,
    acceptor(Listen).

handshake(Socket) ->
    Peer = peer(Socket),
    case ssl:handshake(Socket, ?CONNECT_TIMEOUT) of
        {ok, Tls} ->
            {ok, Der} = ssl:peercert(Tls),
            #'Certificate'{tbsCertificate = #'TBSCertificate'{serialNumber = Serial}} =
                public_key:der_decode('Certificate', Der),
            ok = ssl:setopts(Tls, [{active, once}]),
            await_connect(#{tls => Tls, peer => Peer, serial => hex(Serial)}, <<>>);
        {error, Reason} ->
            log("refused ~s ~s", [refusal(Reason), Peer])
    end.

%% OTP's alert, e.g. {tls_alert, {certificate_revoked, "..."}}: its name.
refusal({tls_alert, {Alert, _}}) -> atom_to_list(Alert);
refusal(Reason) -> io_lib:format("~0p", [Reason]).

peer(Socket) ->
    case ssl:peername(Socket) of
        {ok, {Ip, Port}} -> inet:ntoa(Ip) ++ ":" ++ integer_to_list(Port);
        _ -> "unknown"
    end.

%% As openssl x509 -serial prints it: upper case, whole bytes.
hex(Serial) ->
    Hex = integer_to_list(Serial, 16),
    lists:duplicate(length(Hex) rem 2, $0) ++ Hex.

await_connect(#{tls := Tls, peer := Peer} = State, Buffer) ->
    receive
        {ssl, Tls, Data} ->
            case parse(<<Buffer/binary, Data/binary>>) of
                more -> ssl:setopts(Tls, [{active, once}]), await_connect(State, <<Buffer/binary, Data/binary>>);
                {1, _, Body, Rest} -> connect(State, Body, Rest);
                _ -> log("dropped ~s not_connect", [Peer]), ssl:close(Tls)
            end;
        {ssl_closed, Tls} -> log("dropped ~s peer_closed", [Peer]);
        {ssl_error, Tls, Reason} -> log("dropped ~s ~0p", [Peer, Reason])
    after ?CONNECT_TIMEOUT ->
        log("dropped ~s connect_timeout", [Peer]), ssl:close(Tls)
    end.

connect(#{tls := Tls, peer := Peer, serial := Serial} = State, Body, Rest) ->
    case parse_connect(Body) of
        {ok, ClientId0, KeepAlive} ->
            ClientId = case ClientId0 of
                           <<>> -> iolist_to_binary(["auto-", integer_to_list(erlang:unique_integer([positive]))]);
                           _ -> ClientId0
                       end,
            %% 3.1.1 [MQTT-3.1.4-2]: a second connection with the same client id
            %% closes the first.
            case ets:lookup(clients, ClientId) of
                [{_, Old}] -> Old ! taken_over;
                [] -> ok
            end,
            ets:insert(clients, {ClientId, self()}),
            ok = ssl:send(Tls, <<16#20, 2, 0, 0>>),
            log("connected ~s ~s", [ClientId, Serial]),
            %% [MQTT-3.1.2-24]: one and a half keep-alive periods without a packet.
            Timeout = case KeepAlive of 0 -> infinity; _ -> KeepAlive * 1500 end,
            Reason = try
                         received(State#{timeout => Timeout}, Rest)  % whatever came with CONNECT
                     catch Class:Error -> {Class, Error}
                     end,
            ets:match_delete(subscriptions, {'_', self()}),
            ets:match_delete(wildcards, {'_', self()}),
            ets:delete_object(clients, {ClientId, self()}),
            ssl:close(Tls),
            log("closed ~s ~0p", [ClientId, Reason]);
        {error, ReturnCode} ->
            ssl:send(Tls, <<16#20, 2, 0, ReturnCode>>),
            log("dropped ~s connack_~B", [Peer, ReturnCode]),
            ssl:close(Tls)
    end.

%% Bytes from the client: handle the packets they complete, then wait for more.
%% Returns why the connection ended.
received(#{tls := Tls, timeout := Timeout} = State, Buffer) ->
    case packets(State, Buffer) of
        {more, Rest} ->
            ok = ssl:setopts(Tls, [{active, once}]),
            Deadline = case Timeout of infinity -> infinity; _ -> now_ms() + Timeout end,
            session(State, Rest, Deadline);
        {stop, Reason} -> Reason
    end.

session(#{tls := Tls} = State, Buffer, Deadline) ->
    Wait = case Deadline of infinity -> infinity; _ -> max(0, Deadline - now_ms()) end,
    receive
        {ssl, Tls, Data} -> received(State, <<Buffer/binary, Data/binary>>);
        {deliver, Topic, Payload} ->
            case send(State, publish_packet(Topic, Payload)) of
                ok -> session(State, Buffer, Deadline);  % only the client's packets put the deadline off
                {stop, Reason} -> Reason
            end;
        taken_over -> taken_over;
        {ssl_closed, Tls} -> peer_closed;
        {ssl_error, Tls, Reason} -> {ssl_error, Reason}
    after Wait ->
        keepalive_timeout
    end.

now_ms() -> erlang:monotonic_time(millisecond).

packets(State, Buffer) ->
    case parse(Buffer) of
        more -> {more, Buffer};
        error -> {stop, malformed};
        {Type, Flags, Body, Rest} ->
            case packet(State, Type, Flags, Body) of
                ok -> packets(State, Rest);
                {stop, Reason} -> {stop, Reason}
            end
    end.

%% Fixed header: type and flags, then the remaining length (1 to 4 bytes, 7 bits each).
parse(<<Type:4, Flags:4, Rest/binary>>) ->
    case length_of(Rest, 0, 1) of
        {Length, Body0} when byte_size(Body0) >= Length ->
            <<Body:Length/binary, After/binary>> = Body0,
            {Type, Flags, Body, After};
        error -> error;
        _ -> more
    end;
parse(_) -> more.

length_of(<<1:1, Digit:7, Rest/binary>>, Sum, Multiplier) when Multiplier < 128 * 128 * 128 ->
    length_of(Rest, Sum + Digit * Multiplier, Multiplier * 128);
length_of(<<1:1, _:7, _/binary>>, _, _) -> error;
length_of(<<0:1, Digit:7, Rest/binary>>, Sum, Multiplier) -> {Sum + Digit * Multiplier, Rest};
length_of(<<>>, _, _) -> more.

encode_length(N) when N < 128 -> <<N>>;
encode_length(N) -> <<1:1, (N rem 128):7, (encode_length(N div 128))/binary>>.

parse_connect(<<4:16, "MQTT", Level, Flags, KeepAlive:16, IdLength:16, ClientId:IdLength/binary, _/binary>>)
  when Level =:= 4; Level =:= 3 ->
    case {ClientId, Flags band 2} of
        {<<>>, 0} -> {error, 2};  % [MQTT-3.1.3-8]: an empty id needs a clean session
        _ -> {ok, ClientId, KeepAlive}
    end;
parse_connect(<<6:16, "MQIsdp", 3, _Flags, KeepAlive:16, IdLength:16, ClientId:IdLength/binary, _/binary>>) ->
    {ok, ClientId, KeepAlive};
parse_connect(<<4:16, "MQTT", _/binary>>) -> {error, 1};  % unacceptable protocol level
parse_connect(_) -> {error, 2}.

packet(State, 3, Flags, Body) ->  % PUBLISH
    Qos = (Flags bsr 1) band 3,
    <<TopicLength:16, Topic:TopicLength/binary, Rest/binary>> = Body,
    case Qos of
        0 -> route(Topic, Rest);
        1 -> <<Id:16, Payload/binary>> = Rest, route(Topic, Payload), send(State, <<16#40, 2, Id:16>>);
        2 -> <<Id:16, Payload/binary>> = Rest, route(Topic, Payload), send(State, <<16#50, 2, Id:16>>)
    end;
packet(State, 6, _, <<Id:16>>) -> send(State, <<16#70, 2, Id:16>>);  % PUBREL: PUBCOMP
packet(State, 8, 2, <<Id:16, Filters/binary>>) ->  % SUBSCRIBE
    Granted = [subscribe(State, Filter) || Filter <- filters(Filters, with_qos)],
    Body = <<Id:16, (list_to_binary(Granted))/binary>>,
    send(State, <<16#90, (encode_length(byte_size(Body)))/binary, Body/binary>>);
packet(State, 10, 2, <<Id:16, Filters/binary>>) ->  % UNSUBSCRIBE
    [ets:delete_object(table_of(Filter), {Filter, self()}) || Filter <- filters(Filters, without_qos)],
    send(State, <<16#B0, 2, Id:16>>);
packet(State, 12, _, _) -> send(State, <<16#D0, 0>>);  % PINGREQ: PINGRESP
packet(_, 14, _, _) -> {stop, disconnect};
packet(_, 4, _, _) -> ok;  % PUBACK: deliveries are QoS 0, so none expected; harmless
packet(_, Type, _, _) -> {stop, {unexpected_packet, Type}}.

send(#{tls := Tls}, Packet) ->
    case ssl:send(Tls, Packet) of
        ok -> ok;
        {error, Reason} -> {stop, {send_failed, Reason}}
    end.

filters(<<>>, _) -> [];
filters(<<Length:16, Filter:Length/binary, _Qos, Rest/binary>>, with_qos) -> [Filter | filters(Rest, with_qos)];
filters(<<Length:16, Filter:Length/binary, Rest/binary>>, without_qos) -> [Filter | filters(Rest, without_qos)].

%% Granted QoS 0 for every filter: deliveries are QoS 0. The status topic is
%% answered once, now, and not kept.
subscribe(_, <<"$SYS/broker/clients/connected">> = Topic) ->
    self() ! {deliver, Topic, integer_to_binary(ets:info(clients, size))},
    0;
subscribe(_, Filter) ->
    true = ets:insert(table_of(Filter), {Filter, self()}),
    0.

table_of(Filter) ->
    case binary:match(Filter, [<<"+">>, <<"#">>]) of
        nomatch -> subscriptions;
        _ -> wildcards
    end.

%% Each subscriber once, however many of its filters match.
route(Topic, Payload) ->
    Levels = binary:split(Topic, <<"/">>, [global]),
    Wild = ets:foldl(fun({Filter, Pid}, Acc) ->
                             case matches(binary:split(Filter, <<"/">>, [global]), Levels) of
                                 true -> [Pid | Acc];
                                 false -> Acc
                             end
                     end, [], wildcards),
    Exact = [Pid || {_, Pid} <- ets:lookup(subscriptions, Topic)],
    [Pid ! {deliver, Topic, Payload} || Pid <- lists:usort(Exact ++ Wild)],
    ok.

%% [MQTT-4.7.2-1]: wildcards at the first level do not match topics starting with $.
matches([<<"#">> | _], [<<"$", _/binary>> | _]) -> false;
matches([<<"+">> | _], [<<"$", _/binary>> | _]) -> false;
matches(Filter, Topic) -> match(Filter, Topic).

match([<<"#">>], _) -> true;
match([<<"+">> | Filter], [_ | Topic]) -> match(Filter, Topic);
match([Level | Filter], [Level | Topic]) -> match(Filter, Topic);
match([], []) -> true;
match(_, _) -> false.

publish_packet(Topic, Payload) ->
    Body = <<(byte_size(Topic)):16, Topic/binary, Payload/binary>>,
    <<16#30, (encode_length(byte_size(Body)))/binary, Body/binary>>.
