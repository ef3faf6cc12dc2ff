<?php
/**
 * Stubs for the rust_mail extension, for IDEs and static analysis.
 * This file is not loaded at run time; php/tests/stub_matches_extension.phpt
 * checks that it matches what the extension registers.
 *
 * @generated no: written by hand and kept in step with src/php.rs.
 */

/**
 * Thrown for programming errors: a missing or malformed field (the message
 * names it, e.g. "$transport['port'] must be between 1 and 65535"), header
 * injection (CR, LF or NUL anywhere in a header, an address, an attachment's
 * name or type, the charset, host, helo or username), an envelope address whose quoted part before the '@' has
 * a space, '<' or '>' (it would break the MAIL FROM or RCPT TO line), an unreadable attachment
 * or ca_file (not a regular file, outside open_basedir, a ca_file over 1 MiB),
 * a value of the wrong type. Delivery failures are not thrown: they are
 * returned in the result array. Like any internal function's exception, it
 * carries the file, line and trace of the PHP call that failed; an argument
 * that is not an array gets PHP's own TypeError instead.
 *
 * Scalars, one rule for every key: a key takes its own type, and numbers and
 * bools also take the strings a form, an ini file or an environment variable
 * holds for them. A number (port, timeout, connections, per_minute...) may be
 * a numeric string ('587', ' 2.5 ' for seconds) or a float without a fraction
 * for an integer; a bool (pool, verify_peer, chunking...) may be 1 or 0 or one
 * of the strings filter_var(FILTER_VALIDATE_BOOLEAN) reads: '1', 'true', 'on',
 * 'yes', '0', 'false', 'off', 'no' and '' (any case). Anything else is refused
 * naming the key; strings are never made from numbers or bools.
 */
class RustMailException extends \Exception {}

/**
 * Sends one message over SMTP.
 *
 * @param array{
 *   from?: string|array<string>, to?: string|array<string>, cc?: string|array<string>, bcc?: string|array<string>,
 *   reply_to?: string|array<string>, subject?: string, text?: string|true, html?: string,
 *   headers?: list<string>|array<string,string>,
 *   attachments?: list<string|array{path?: string, content?: string, name?: string, type?: string, inline?: bool, cid?: string}>|array<string,string>,
 *   charset?: string, return_path?: string,
 *   dsn?: array{notify?: string|list<'success'|'failure'|'delay'|'never'>, ret?: 'headers'|'full', envid?: string},
 *   dkim?: array{domain: string, selector: string, private_key: string},
 *   raw?: string, envelope?: array{from: string, to: string|list<string>}, message_id?: ?string
 * } $message Either composed from its parts, or `raw` bytes plus their `envelope` (what rust_mail_compose()
 *   returns, taken as it is: `message_id`, when given with `raw`, must be the Message-ID the raw message carries).
 *   `to`, `cc`, `bcc`, `reply_to`: a string with commas, a list of strings, or address => name
 *   pairs (['bob@example.com' => 'Bob Smith']); name => address is refused with a hint. `from` takes the same forms,
 *   for one address.
 *   A non-ASCII domain is sent as IDNA (xn--...); a non-ASCII part before the '@' needs a server that offers
 *   SMTPUTF8, else that recipient is refused (in `rejected`) and the others get the mail.
 *   `text` true: the plain-text part made from `html` (paragraphs, list items and line breaks kept as lines, each
 *   link's URL after its text), beside the html as multipart/alternative.
 *   `return_path`: the envelope sender (MAIL FROM), where bounces go, apart from the From header; '<>' or '' is
 *   the null reverse-path; default the From address.
 *   `dsn` (RFC 3461, with `raw` too): NOTIFY= and ORCPT= on each RCPT TO, RET= and ENVID= (as xtext) on MAIL FROM, sent only
 *   when the server offers DSN (else left out, with an `info` line in the transcript); `never` stands alone.
 *   `dkim` (RFC 6376, with `raw` too; wins over $transport['dkim']): signs the message as sent (line ends made CRLF)
 *   with a DKIM-Signature, relaxed/relaxed; `private_key` a PEM key (RSA of 1024 bits or more: rsa-sha256;
 *   Ed25519: ed25519-sha256) or the absolute path of its file; `domain` (d=) and `selector` (s=) name the TXT
 *   record <selector>._domainkey.<domain> with the public key. Signed: From, Reply-To, To, Cc, Subject, Date,
 *   Message-ID, In-Reply-To, References, MIME-Version, Content-Type, Content-Transfer-Encoding, List-Unsubscribe
 *   and List-Unsubscribe-Post, those absent as absent. The key is never in a result, a transcript or an exception.
 *   `headers`: every line is sent in the order given (a name may repeat); a `Date` is
 *   sent as given and must be an RFC 5322 date such as date(DATE_RFC2822) writes.
 *   `attachments`: an entry's `type` goes through as given, parameters and all ('text/calendar; method=REQUEST');
 *   an entry with a `cid` (and `inline`, which a `cid` implies) is an inline part: it goes beside the html in
 *   multipart/related, and the html shows it as <img src="cid:logo">. `name` is optional for an inline part.
 *   The files given by path may add up to $options['max_attachment_bytes'].
 * @param array{
 *   host: string, port?: int, security?: 'none'|'starttls'|'opportunistic'|'tls',
 *   auth?: 'none'|'plain'|'login'|'xoauth2'|'auto', username?: string, password?: string,
 *   timeout?: int|float, tls_min_version?: '1.2'|'1.3', verify_peer?: bool, ca_file?: string,
 *   helo?: string, pool?: bool, allow_insecure_auth?: bool, chunking?: bool,
 *   api?: 'graph'|'gmail'|'ses'|'mailgun', api_base?: string, region?: string,
 *   dkim?: array{domain: string, selector: string, private_key: string}
 * } $transport `dkim`: as $message['dkim'], for each message without a key of its own and not signed yet (a raw
 *   message that has a DKIM-Signature, as rust_mail_compose() signed it, is sent as it is). `timeout`: seconds for the whole call, more than 0 and at most 3600. `chunking` (default true):
 *   `BDAT <n> LAST` (RFC 3030) instead of DATA when the server offers CHUNKING.
 *   `api`: send over that HTTPS API instead of SMTP (`host`, `port`, `security`, `auth`, `helo`,
 *   `allow_insecure_auth` and `chunking` are then refused): `api_base` (https:// only) overrides its base URL,
 *   `region` is SES's AWS region (required) or Mailgun's 'us'/'eu'; `username` is the mailbox (graph, gmail),
 *   the access key id (ses) or the sending domain (mailgun), `password` the token, secret key or API key.
 * @param array{max_attachment_bytes?: int}|null $options `max_attachment_bytes` (default 26214400, 25 MiB): the
 *   most bytes the files of `attachments` given by path may have together; each file's size is checked before it is
 *   read, and over it RustMailException names the file, its size and the cap (nothing is sent). Those files are read
 *   outside PHP's memory_limit; `content` attachments, in PHP's memory already, do not count.
 * @return array{
 *   ok: bool, message_id: ?string, accepted: list<string>, rejected: array<string,string>,
 *   code: ?int, enhanced_code: ?string, reply: ?string,
 *   error: null|array{
 *     kind: 'dns'|'connect_refused'|'connect_timeout'|'tls'|'auth'|'sender_rejected'|'recipient_rejected'|'data_rejected'|'timeout'|'protocol',
 *     message: string, transient: bool,
 *     cause: string,
 *     stage: 'dns'|'connect'|'tls_handshake'|'greeting'|'ehlo'|'starttls'|'auth'|'mail'|'rcpt'|'data'|'message'|'rset'|'quit'|'request'|'input',
 *     advice: list<string>, retry_after: ?int
 *   },
 *   transcript: list<array{ms: float, dir: 'client'|'server'|'info', line: string}>,
 *   timings: array{connect: float, tls: float, auth: float, send: float, total: float},
 *   reused_connection: bool
 * }
 * @throws RustMailException on a programming error in the arguments.
 */
function rust_mail_send(array $message, array $transport, ?array $options = null): array {}

/**
 * Composes a message without sending it: to preview, store or test it, or send it later with rust_mail_send().
 *
 * @param array $message As for rust_mail_send(), refused with the same RustMailException for the same bad input.
 * @param array{max_attachment_bytes?: int}|null $options As for rust_mail_send(): `max_attachment_bytes` caps the
 *   files of `attachments` given by path, so that a message composed here is one rust_mail_send() would send.
 * @return array{raw: string, envelope: array{from: string, to: list<string>}, message_id: ?string, dsn?: array}
 *   `raw`: exactly the bytes rust_mail_send() sends for this message (every line ended by CRLF, before
 *   dot-stuffing), its Date and Message-ID included; bcc recipients are in `envelope.to`, never in `raw`; `dsn`
 *   only when the message asks for it.
 *   Passed back to rust_mail_send() as it is, the same bytes are sent.
 * @throws RustMailException on a programming error in the message.
 */
function rust_mail_compose(array $message, ?array $options = null): array {}

/**
 * Sends a list of messages over up to `connections` parallel connections of one transport (pooled ones first,
 * when `pool` is on), each message exactly as rust_mail_send() sends it (BDAT, pipelining, refusals, RSET).
 *
 * @param array<array-key, array> $messages Each as rust_mail_send()'s $message. A message that cannot be read
 *   (a missing field, header injection, an unreadable attachment, not an array) is not thrown: its result has
 *   error kind 'invalid_input', cause 'invalid_input', stage 'input' and the text rust_mail_send() would have
 *   thrown; the others are sent.
 * @param array $transport As for rust_mail_send(); its `timeout` bounds each message. An invalid transport throws.
 * @param array{connections?: int, max_messages?: int, per_minute?: int, timeout?: int|float, transcripts?: 'all'|'failed'|'none', max_attachment_bytes?: int}|null $options
 *   `connections`: 1 to 32, default 4 (never more than there are messages); a connection the server turns away
 *   before any transaction (refused, a 421 greeting) leaves its messages to the open ones. `max_messages`: default
 *   1000; more messages throw before any is read or sent (each is read and composed when a connection takes it).
 *   `per_minute`: messages started per
 *   minute, evenly spaced (never more than that many in any 60 s); default no limit. `timeout`: seconds for the
 *   whole call (more than 0, at most 3600); a message whose turn comes later is not started and gets error kind
 *   'timeout' (transient), never sent twice; default: 10 times $transport['timeout'] (300 s with its default), at
 *   most 3600. `transcripts`: which results keep their transcript,
 *   'all' (default), 'failed' or 'none' (an empty list): a transcript is most of a result's 5 to 7 KiB of memory (about 1.6 KiB without).
 *   `max_attachment_bytes`: as rust_mail_send()'s, for each message (one over it gets an 'invalid_input' result).
 * @return array<array-key, array> One result per message, under the keys of $messages and in their order, each
 *   with the keys and meaning of rust_mail_send()'s result. A refused message never stops the others.
 * @throws RustMailException on an invalid transport or options, or more than `max_messages` messages.
 */
function rust_mail_send_many(array $messages, array $transport, ?array $options = null): array {}

/**
 * Walks a connection step by step (dns, sender_dns, tcp, greeting, ehlo,
 * tls, auth, envelope, send) and says what is wrong and what to do. With
 * auth 'none' and a `from` option, sender_dns checks the From domain's SPF
 * record (does it authorise the relay?) and its DMARC record.
 *
 * Over an HTTPS API (`api`) the steps are dns, tcp, tls (of the base URL's
 * host and port), token (a JWT's audience and expiry; expired: cause
 * 'api_token_expired'), permission (sends nothing: an app-only Graph token's
 * `roles` must hold Mail.Send; a delegated token's scopes, from its `scp` or
 * `token_scopes`, Mail.Send for Graph or gmail.send for Gmail; else
 * 'api_permission_missing'), send (only with send_test). SES and Mailgun skip
 * token and permission.
 *
 * @param array $transport The same as for rust_mail_send(); `host` may be left
 *   out when `$options['mx_domain']` is given.
 * @param array{
 *   from?: string, to?: string|list<string>, send_test?: bool, scan_ports?: bool|list<int>,
 *   mx_domain?: string, nameserver?: string, timeout?: int|float, token_scopes?: string|list<string>
 * }|null $options `token_scopes`: with an API, the scopes the token endpoint granted with the token (its
 *   answer's `scope`), for an opaque delegated token; `mx_domain` and `scan_ports` are for SMTP only.
 * @return array{
 *   ok: bool,
 *   steps: list<array{name: string, status: 'ok'|'warn'|'fail'|'skip', ms: float, detail: string, data: array}>,
 *   ports: null|list<array{port: int, state: 'open'|'refused'|'timeout'|'unreachable'|'error', service: ?string}>,
 *   server: array{host: string, port: int, addresses: list<string>, mx: list<string>, banner: string, capabilities: list<string>, certificate: ?array},
 *   transcript: list<array{ms: float, dir: string, line: string}>,
 *   verdict: array{cause: string, summary: string, advice: list<string>}
 * }
 * @throws RustMailException on a programming error in the arguments.
 */
function rust_mail_diagnose(array $transport, ?array $options = null): array {}

/**
 * Explains a failed rust_mail_send() after the fact (a log entry, say): the cause, summary and advice that
 * rust_mail_diagnose() would give for that error and server reply, naming this transport's settings.
 *
 * @param array{kind: string, message?: string, code?: ?int, enhanced_code?: ?string, reply?: ?string, from?: string, cause?: string} $failure
 *   `kind` and `message` from the result's `error`, and its `code`, `enhanced_code` and `reply`; `cause` (the
 *   `error`'s, in rows written since results carry it) is used as it is; without it the reply is classified.
 *   The rest of a result's `error` (`transient`, `advice`, `stage`) is accepted and ignored. A whole result as
 *   rust_mail_send() or rust_mail_send_many() returned it is accepted too (its `error` and reply fields are the
 *   failure); one without an error is refused. An `invalid_input` failure (a message rust_mail_send_many() could
 *   not read) has cause `invalid_input`, its message as the summary and the result's advice.
 * @param array $transport The transport the mail was sent with, as for rust_mail_send(); the password may be left out.
 * @return array{cause: string, summary: string, advice: list<string>}
 * @throws RustMailException on a programming error in the arguments.
 */
function rust_mail_explain(array $failure, array $transport): array {}

/**
 * Closes this process's idle pooled connections, each with a QUIT (waiting at most half a second for the
 * servers), and returns how many it closed. For a queue worker or a long-running server between batches, or
 * before it forks; a request under PHP-FPM needs none of this, nor the end of a script: when the process ends,
 * idle connections say QUIT by themselves. Connections also close by themselves once idle
 * for `rust_mail.pool_idle_timeout` seconds (ini, default 120, a whole number from 1 to 3600, changeable with
 * ini_set(); shown in phpinfo()): a connection found older than that is closed instead of reused.
 */
function rust_mail_pool_close(): int {}
