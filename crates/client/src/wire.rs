//! One call over the wire: signed as the official SDKs sign (or with an IAM token), paced,
//! retried when that is safe, its error told as one message a user can act on.

use super::*;

impl Remote {
    /// One TAT action: `POST /` signed with TC3-HMAC-SHA256, never retried (creates are not
    /// idempotent); `Response.Error` becomes an error.
    pub(crate) async fn tat(
        &self,
        action: TatAction,
        body: &impl Serialize,
    ) -> Result<serde_json::Value> {
        let Some((id, key)) = &self.creds.tencent else {
            return Err(Error::Transport(
                "TAT needs Tencent keys: set TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY"
                    .into(),
            ));
        };
        let ep = self.endpoints.get(Service::Tat).map_err(Error::Transport)?;
        let bytes = serde_json::to_vec(body).map_err(|e| Error::Transport(e.to_string()))?;
        self.paced().await;
        let ts = chrono::Utc::now().timestamp();
        let headers = vec![
            ("Content-Type".to_string(), "application/json".to_string()),
            ("Host".to_string(), ep.host.clone()),
        ];
        let auth = cocpit_api::sign::tencent::authorization(
            id, key, "tat", ts, "POST", "", &headers, &bytes,
        );
        let r = self
            .http
            .post(format!("{}/", ep.base))
            .header("Content-Type", "application/json")
            .header("Authorization", auth)
            .header("X-TC-Action", action.name())
            .header("X-TC-Version", tat::VERSION)
            .header("X-TC-Timestamp", ts.to_string())
            .body(bytes)
            .send()
            .await
            .map_err(|e| Error::Transport(transport_message(&ep.base, &e)))?;
        let v: serde_json::Value = r
            .json()
            .await
            .map_err(|e| Error::Transport(format!("{}: unexpected answer: {e}", action.name())))?;
        let resp = v["Response"].clone();
        if let Some(err) = resp.get("Error") {
            let code = err["Code"].as_str().unwrap_or("InternalError").to_string();
            return Err(Error::Remote {
                status: 200,
                message: err["Message"].as_str().unwrap_or("").to_string(),
                code,
            });
        }
        Ok(resp)
    }

    /// Waits for the request's turn under the rate limit.
    pub(crate) async fn paced(&self) {
        if self.options.max_rate == 0 {
            return;
        }
        let mut next = self.pace.lock().await;
        tokio::time::sleep_until(*next).await;
        let gap = Duration::from_secs_f64(1.0 / f64::from(self.options.max_rate));
        *next = tokio::time::Instant::now().max(*next) + gap;
    }

    /// The IAM token to send, when the credentials are a token or a login: a login's token is
    /// fetched once and again shortly before it expires.
    pub(crate) async fn auth_token(&self) -> Result<Option<String>> {
        let (user, password, domain) = match &self.creds.token {
            None => return Ok(None),
            Some(TokenAuth::Given(t)) => return Ok(Some(t.clone())),
            Some(TokenAuth::Password {
                user,
                password,
                domain,
            }) => (user, password, domain),
        };
        let mut cached = self.token.lock().await;
        if let Some((t, renew_at)) = cached.as_ref()
            && tokio::time::Instant::now() < *renew_at
        {
            return Ok(Some(t.clone()));
        }
        let ep = self.endpoints.get(Service::Iam).map_err(Error::Transport)?;
        let body = TokenRequest::password(
            user,
            password,
            domain.as_deref(),
            self.creds.project_id.as_deref(),
        );
        self.paced().await;
        let r = self
            .http
            .post(format!("{}{}", ep.base, IAM_TOKENS.path))
            .json(&body)
            .send()
            .await
            .map_err(|e| Error::Transport(transport_message(&ep.base, &e)))?;
        let status = r.status().as_u16();
        let subject = header_value(
            &r,
            reqwest::header::HeaderName::from_static("x-subject-token"),
        );
        let v: serde_json::Value = r.json().await.unwrap_or_default();
        let Some(token) = subject.filter(|_| status == 201) else {
            let why = v["error"]["message"]
                .as_str()
                .unwrap_or("no token in the answer");
            return Err(Error::Remote {
                status,
                code: "IAM".into(),
                message: format!("IAM refused the login of {user}: {why}"),
            });
        };
        let time = |k: &str| {
            v["token"][k]
                .as_str()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        };
        // Renew a quarter of its life (at most five minutes) before it expires.
        let life = match (time("issued_at"), time("expires_at")) {
            (Some(i), Some(e)) => (e - i).to_std().unwrap_or_default(),
            _ => Duration::from_secs(3600),
        };
        let margin = (life / 4).min(Duration::from_secs(300));
        *cached = Some((token.clone(), tokio::time::Instant::now() + life - margin));
        Ok(Some(token))
    }

    /// Drops a login's cached token; `true` when there was a login to fetch a new one with.
    pub(crate) async fn forget_login_token(&self) -> bool {
        let login = matches!(self.creds.token, Some(TokenAuth::Password { .. }));
        if login {
            *self.token.lock().await = None;
        }
        login
    }

    /// A request to `ep`: with the IAM token when there is one, else signed as the SDK signs.
    pub(crate) fn authorized(
        &self,
        ep: &Address,
        method: &Method,
        path: &str,
        query: &str,
        body: &[u8],
        token: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let Some(token) = token else {
            return self.signed(ep, method, path, query, body);
        };
        let mut req = self
            .http
            .request(method.clone(), url(ep, path, query))
            .header("Content-Type", "application/json")
            .header("X-Auth-Token", token)
            .body(body.to_vec());
        if let Some(p) = &self.creds.project_id {
            req = req.header("X-Project-Id", p);
        }
        req
    }

    /// A request to `ep`, signed as the SDK signs it.
    pub(crate) fn signed(
        &self,
        ep: &Address,
        method: &Method,
        path: &str,
        query: &str,
        body: &[u8],
    ) -> reqwest::RequestBuilder {
        let date = chrono::Utc::now().format(huawei::DATE_FORMAT).to_string();
        let mut headers = vec![
            ("Content-Type".to_string(), "application/json".to_string()),
            ("Host".to_string(), ep.host.clone()),
            // Signed, so two equal writes in one second are two signatures (a server that
            // accepts each signed write once tells them apart).
            (
                "X-Request-Id".to_string(),
                format!("{:032x}", fastrand::u128(..)),
            ),
            ("X-Sdk-Date".to_string(), date),
        ];
        match (&self.creds.project_id, &self.creds.domain_id) {
            (Some(p), _) => headers.push(("X-Project-Id".to_string(), p.clone())),
            (None, Some(d)) => headers.push(("X-Domain-Id".to_string(), d.clone())),
            (None, None) => {}
        }
        // Temporary credentials: the token travels (signed) with every request.
        if let Some(t) = &self.creds.security_token {
            headers.push(("X-Security-Token".to_string(), t.clone()));
        }
        let auth = huawei::authorization(
            &self.creds.ak,
            &self.creds.sk,
            method.as_str(),
            path,
            query,
            &headers,
            body,
        );
        let mut req = self
            .http
            .request(method.clone(), url(ep, path, query))
            .header("Authorization", auth)
            .body(body.to_vec());
        for (k, v) in headers.iter().filter(|(k, _)| k != "Host") {
            req = req.header(k, v);
        }
        req
    }

    /// One call of a declared endpoint: its parameters filled in `args` order, its query and
    /// body serialised as declared, its answer parsed as declared.
    pub(crate) async fn fetch<Q: Serialize, B: Serialize, A: DeserializeOwned>(
        &self,
        ep: &Endpoint<Q, B, A>,
        args: &[&str],
        query: Option<&Q>,
        body: Option<&B>,
    ) -> Result<A> {
        let method = match ep.method {
            api::Method::Get => Method::GET,
            api::Method::Post => Method::POST,
            api::Method::Put => Method::PUT,
            api::Method::Delete => Method::DELETE,
        };
        let query = query.map(pairs).unwrap_or_default();
        self.exchange(method, ep.service, &ep.path_with(args), &query, body)
            .await
    }

    /// A declared endpoint with no query and no body.
    pub(crate) async fn read<A: DeserializeOwned>(
        &self,
        ep: &Endpoint<(), (), A>,
        args: &[&str],
    ) -> Result<A> {
        self.fetch(ep, args, None, None).await
    }

    /// One API call: signed, retried when it is a read, its error mapped to one message.
    pub(crate) async fn exchange<T: DeserializeOwned>(
        &self,
        method: Method,
        service: Service,
        path: &str,
        query: &[(String, String)],
        body: Option<&impl Serialize>,
    ) -> Result<T> {
        let mut pairs: Vec<(String, String)> = query.to_vec();
        pairs.sort();
        let query: String = pairs
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect::<Vec<_>>()
            .join("&");
        let body = match body {
            Some(b) => serde_json::to_vec(b).map_err(|e| Error::Transport(e.to_string()))?,
            None => vec![],
        };
        // A write is repeated only when it surely never arrived (no connection, or a 429
        // refusal): repeating an execution or an incident could do it twice.
        let idempotent = method == Method::GET;
        let ep = self.endpoints.get(service).map_err(Error::Transport)?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let token = self.auth_token().await?;
            self.paced().await;
            let sent = self
                .authorized(ep, &method, path, &query, &body, token.as_deref())
                .send()
                .await;
            let (wait, err, repeatable) = match sent {
                Ok(r) if r.status().is_success() => match r.bytes().await {
                    Ok(bytes) => {
                        return serde_json::from_slice(&bytes).map_err(|e| {
                            Error::Transport(format!("{method} {path}: unexpected answer: {e}"))
                        });
                    }
                    Err(e) => (
                        None,
                        Error::Unanswered(format!(
                            "{method} {path}: the answer was cut off: {}",
                            cause(&e)
                        )),
                        idempotent,
                    ),
                },
                Ok(r) => {
                    let status = r.status().as_u16();
                    let wait = header_value(&r, reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.parse::<u64>().ok())
                        .map(Duration::from_secs);
                    let skew = header_value(&r, reqwest::header::DATE).and_then(|d| clock_skew(&d));
                    let text = r.text().await.unwrap_or_default();
                    let err = remote_error(status, &text, skew);
                    match status {
                        // A login's token refused before its time: fetch a new one, once.
                        401 if attempt == 1 && self.forget_login_token().await => {
                            (Some(Duration::ZERO), err, true)
                        }
                        429 => (wait, err, true),
                        500.. => (wait, err, idempotent),
                        _ => return Err(err),
                    }
                }
                Err(e) if e.is_connect() => (
                    None,
                    Error::Transport(transport_message(&ep.base, &e)),
                    true,
                ),
                Err(e) => (
                    None,
                    Error::Unanswered(transport_message(&ep.base, &e)),
                    idempotent,
                ),
            };
            if !repeatable || attempt >= self.options.attempts {
                return Err(err);
            }
            // Exponential backoff with jitter, or what the server asked for.
            let backoff =
                Duration::from_millis(100 * 2u64.pow(attempt - 1) + fastrand::u64(0..100));
            tokio::time::sleep(wait.unwrap_or(backoff).min(Duration::from_secs(10))).await;
        }
    }

    /// One signed read of COC, not repeated: its HTTP status, its error when refused, and how
    /// far this clock is from the server's (seconds, + when ahead), for `config check`.
    pub async fn probe(&self) -> Result<(u16, Option<Error>, Option<i64>)> {
        let ep = self.endpoints.coc();
        let token = self.auth_token().await?;
        let r = self
            .authorized(
                ep,
                &Method::GET,
                LIST_SCRIPTS.path,
                "limit=1",
                b"",
                token.as_deref(),
            )
            .send()
            .await
            .map_err(|e| Error::Transport(transport_message(&ep.base, &e)))?;
        let status = r.status().as_u16();
        let skew = header_value(&r, reqwest::header::DATE)
            .and_then(|d| chrono::DateTime::parse_from_rfc2822(&d).ok())
            .map(|server| (chrono::Utc::now() - server.with_timezone(&chrono::Utc)).num_seconds());
        let refused = (!r.status().is_success()).then_some(());
        let text = r.text().await.unwrap_or_default();
        let err = refused.map(|()| remote_error(status, &text, None));
        Ok((status, err, skew))
    }
}

pub(crate) fn enc(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

/// An error answer as one message a user can act on.
pub(crate) fn url(ep: &Address, path: &str, query: &str) -> String {
    if query.is_empty() {
        format!("{}{path}", ep.base)
    } else {
        format!("{}{path}?{query}", ep.base)
    }
}

pub(crate) fn header_value(
    r: &reqwest::Response,
    name: reqwest::header::HeaderName,
) -> Option<String> {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// How far this machine's clock is from the server's `Date`, when it is a minute or more.
pub(crate) fn clock_skew(date: &str) -> Option<Duration> {
    let server = chrono::DateTime::parse_from_rfc2822(date).ok()?;
    let skew = (chrono::Utc::now() - server.with_timezone(&chrono::Utc))
        .num_seconds()
        .unsigned_abs();
    (skew >= 60).then(|| Duration::from_secs(skew))
}

/// The innermost cause of a reqwest error (its own text is often only "error decoding body").
pub(crate) fn cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut inner = e;
    while let Some(next) = inner.source() {
        inner = next;
    }
    inner.to_string()
}

pub(crate) fn remote_error(status: u16, text: &str, skew: Option<Duration>) -> Error {
    let (code, message) = match serde_json::from_str::<ApiError>(text) {
        Ok(e) => (e.error_code, e.error_msg),
        Err(_) => (
            format!("HTTP {status}"),
            text.chars().take(200).collect::<String>(),
        ),
    };
    let message = if status == 401 {
        let clock = match skew {
            Some(d) => format!("the clock (skew {} min)", (d.as_secs() + 30) / 60),
            None => "the clock".into(),
        };
        let detail = if message.is_empty() {
            String::new()
        } else {
            format!(" ({message})")
        };
        format!("signature rejected: check the access key, the secret key and {clock}{detail}")
    } else {
        message
    };
    Error::Remote {
        status,
        code,
        message,
    }
}

/// Why a request got no answer: the whole chain of causes (reqwest's own message names only
/// the URL), then what to check.
pub(crate) fn transport_message(base: &str, e: &reqwest::Error) -> String {
    let mut causes: Vec<String> = vec![];
    let mut next: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(c) = next {
        let text = c.to_string();
        // Layers often repeat the layer below: keep the most specific words once.
        if !causes.last().is_some_and(|l| l.contains(&text)) {
            causes.push(text);
        }
        next = c.source();
    }
    let chain = causes.join(": ");
    let lower = chain.to_lowercase();
    let hint = if lower.contains("connection refused") {
        "nothing listens there: is `cocpit serve` (or the endpoint) running, on that port?"
    } else if lower.contains("dns") || lower.contains("failed to lookup") {
        "the host name does not resolve: check it in --endpoint or the profile"
    } else if lower.contains("certificate") || lower.contains("tls") || lower.contains("ssl") {
        "the TLS handshake failed: check the certificate (its CA, the name it was issued for)"
    } else if e.is_timeout() || lower.contains("timed out") {
        "no answer in time: check the address, a firewall, or `[client] timeout`"
    } else if lower.contains("reset") || lower.contains("closed") {
        "the connection was dropped: is a proxy or a plain-HTTP/HTTPS mismatch in the way?"
    } else {
        "check the endpoint's address and that it is up"
    };
    let what = if e.is_connect() {
        "cannot reach"
    } else if e.is_timeout() {
        "no answer from"
    } else {
        "request to"
    };
    if chain.is_empty() {
        format!("{what} {base}: {e} ({hint})")
    } else {
        format!("{what} {base}: {chain} ({hint})")
    }
}

/// A query struct's set fields as pairs; a list is its key repeated, once per item.
pub(crate) fn pairs(q: &impl Serialize) -> Vec<(String, String)> {
    let text = |v: serde_json::Value| match v {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    };
    let Ok(serde_json::Value::Object(m)) = serde_json::to_value(q) else {
        return vec![];
    };
    let mut out = vec![];
    for (k, v) in m {
        match v {
            serde_json::Value::Null => {}
            serde_json::Value::Array(items) => {
                out.extend(items.into_iter().map(|i| (k.clone(), text(i))));
            }
            v => out.push((k, text(v))),
        }
    }
    out
}

#[cfg(test)]
mod transport_tests {
    use super::transport_message;

    #[tokio::test]
    async fn a_refused_connection_says_so_and_what_to_check() {
        // A port nothing listens on: bind one, then let it go.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let base = format!("http://127.0.0.1:{port}");
        let e = reqwest::Client::new()
            .get(format!("{base}/v1/job/scripts"))
            .send()
            .await
            .unwrap_err();
        let m = transport_message(&base, &e);
        assert!(m.starts_with(&format!("cannot reach {base}: ")), "{m}");
        assert!(m.to_lowercase().contains("connection refused"), "{m}");
        assert!(m.contains("is `cocpit serve`"), "{m}");
        assert!(!m.contains("error sending request"), "{m}");
    }
}
