<?php
/**
 * OAuth2 for XOAUTH2 without WordPress: sign a mailbox in once in a terminal, then send with its tokens.
 *
 * 1. Sign in (authorization code flow with PKCE, S256, and a loopback redirect): prints the address to open in a
 *    browser, waits for the browser to come back to http://localhost:PORT/ (Microsoft) or http://127.0.0.1:PORT/
 *    (Google), trades the code, and prints the account and the refresh token to store (as you store a password):
 *
 *      php -d extension=target/release/librust_mail.so php/examples/oauth_signin.php \
 *          --provider=microsoft --client-id=ID [--tenant=common|consumers|TENANT] [--client-secret-env=VAR]
 *      php ... php/examples/oauth_signin.php --provider=google --client-id=ID --client-secret-env=VAR
 *
 * 2. Send: trades the stored refresh token (from the environment variable RUST_MAIL_REFRESH_TOKEN, never the command
 *    line, where every user of the machine could read it) for an access token, passes it to rust_mail_send() as the
 *    password with auth 'xoauth2', and prints the new refresh token to store when the provider rotated it:
 *
 *      RUST_MAIL_REFRESH_TOKEN=... php ... php/examples/oauth_signin.php --provider=microsoft --client-id=ID \
 *          --send-to=you@example.com --username=me@outlook.com [--smtp-host=smtp-mail.outlook.com --smtp-port=587]
 *
 * Register the app first (README.md, "OAuth2 sign-in"): Microsoft, a "Mobile and desktop applications" redirect URI
 * http://localhost and the permissions SMTP.Send and offline_access; Google, a "Desktop app" OAuth client.
 * The endpoints are Microsoft's and Google's; RUST_MAIL_OAUTH_TOKEN_URL and RUST_MAIL_OAUTH_AUTHORIZE_URL (Microsoft,
 * with {tenant}; for a national cloud), or RUST_MAIL_OAUTH_GOOGLE_TOKEN_URL and RUST_MAIL_OAUTH_GOOGLE_AUTHORIZE_URL
 * in the environment replace them.
 */

const PROVIDERS = [
    'microsoft' => [
        'authorize' => 'https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize',
        'token'     => 'https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token',
        'env'       => ['RUST_MAIL_OAUTH_AUTHORIZE_URL', 'RUST_MAIL_OAUTH_TOKEN_URL'],
        'scope'     => 'https://outlook.office.com/SMTP.Send offline_access openid email',
        'redirect'  => 'localhost',
        'smtp'      => 'smtp-mail.outlook.com',
    ],
    'google'    => [
        'authorize' => 'https://accounts.google.com/o/oauth2/v2/auth',
        'token'     => 'https://oauth2.googleapis.com/token',
        'env'       => ['RUST_MAIL_OAUTH_GOOGLE_AUTHORIZE_URL', 'RUST_MAIL_OAUTH_GOOGLE_TOKEN_URL'],
        'scope'     => 'https://mail.google.com/ openid email',
        'redirect'  => '127.0.0.1',
        'smtp'      => 'smtp.gmail.com',
    ],
];

$options = getopt('', ['provider:', 'client-id:', 'tenant:', 'client-secret-env:', 'redirect-host:', 'send-to:',
                       'username:', 'from:', 'smtp-host:', 'smtp-port:', 'smtp-security:', 'ca-file:']);
$provider = PROVIDERS[$options['provider'] ?? ''] ?? null;
if ($provider === null || !isset($options['client-id'])) {
    fwrite(STDERR, "usage: php oauth_signin.php --provider=microsoft|google --client-id=ID [--tenant=T] [--client-secret-env=VAR]\n"
        . "       [--send-to=ADDRESS --username=MAILBOX [--smtp-host=H --smtp-port=P --ca-file=F]]   (RUST_MAIL_REFRESH_TOKEN set)\n");
    exit(2);
}
$tenant = rawurlencode($options['tenant'] ?? 'common');
[$authorizeEnv, $tokenEnv] = $provider['env'];
$tokenUrl = str_replace('{tenant}', $tenant, getenv($tokenEnv) ?: $provider['token']);
// A Microsoft national cloud's authorization page is next to its token endpoint.
$authorizeUrl = getenv($authorizeEnv)
    ?: ($options['provider'] === 'microsoft' && getenv($tokenEnv) ? preg_replace('#/token$#', '/authorize', getenv($tokenEnv)) : $provider['authorize']);
$authorizeUrl = str_replace('{tenant}', $tenant, $authorizeUrl);
$client = ['client_id' => $options['client-id']];
if (isset($options['client-secret-env'])) {
    $client['client_secret'] = (string) getenv($options['client-secret-env']);
}

/** base64url without padding: PKCE verifiers, challenges and the state. */
function b64url(string $bytes): string
{
    return rtrim(strtr(base64_encode($bytes), '+/', '-_'), '=');
}

/** POSTs a form to the token endpoint; the decoded answer, or exit with the provider's words. */
function token_request(string $url, array $form): array
{
    $context = stream_context_create(['http' => [
        'method' => 'POST', 'header' => "Content-Type: application/x-www-form-urlencoded\r\n",
        'content' => http_build_query($form), 'ignore_errors' => true, 'follow_location' => 0, 'timeout' => 15,
    ]]);
    $body = @file_get_contents($url, false, $context);
    $answer = is_string($body) ? json_decode($body, true) : null;
    if (!is_array($answer) || empty($answer['access_token'])) {
        $why = is_array($answer) ? ($answer['error_description'] ?? $answer['error'] ?? 'no access token') : "could not reach $url";
        fwrite(STDERR, "token request refused: $why\n");
        exit(1);
    }
    return $answer;
}

/** The account's address from the ID token (straight from the token endpoint, so its signature is not checked). */
function account(array $answer): string
{
    $claims = json_decode((string) base64_decode(strtr(explode('.', $answer['id_token'] ?? '')[1] ?? '', '-_', '+/')), true);
    return (string) ($claims['email'] ?? $claims['preferred_username'] ?? '');
}

if (isset($options['send-to'])) {
    // 2. Send with the stored sign-in.
    $refresh = (string) getenv('RUST_MAIL_REFRESH_TOKEN');
    if ($refresh === '' || !isset($options['username'])) {
        fwrite(STDERR, "set RUST_MAIL_REFRESH_TOKEN to the stored refresh token, and give --username=MAILBOX\n");
        exit(2);
    }
    $answer = token_request($tokenUrl, $client + ['grant_type' => 'refresh_token', 'refresh_token' => $refresh,
                                                  'scope' => $provider['scope']]);
    $transport = [
        'host'     => $options['smtp-host'] ?? $provider['smtp'],
        'port'     => (int) ($options['smtp-port'] ?? 587),
        'security' => $options['smtp-security'] ?? 'starttls',
        'auth'     => 'xoauth2',
        'username' => $options['username'],
        'password' => $answer['access_token'],   // the access token is XOAUTH2's password
    ];
    if (isset($options['ca-file'])) {
        $transport['ca_file'] = $options['ca-file'];
    }
    $result = rust_mail_send([
        'from'    => $options['from'] ?? $options['username'],
        'to'      => $options['send-to'],
        'subject' => 'Sent with an OAuth2 sign-in',
        'text'    => "Sent with rust_mail_send() and XOAUTH2.\n",
    ], $transport);
    if (!empty($answer['refresh_token']) && $answer['refresh_token'] !== $refresh) {
        echo "The provider rotated the refresh token; store the new one in place of the old:\n",
             "refresh_token: {$answer['refresh_token']}\n";
    }
    if ($result['ok']) {
        echo "sent {$result['message_id']} to ", implode(', ', $result['accepted']), " as {$options['username']}\n";
        exit(0);
    }
    echo "not sent ({$result['error']['kind']}): {$result['error']['message']}\n";
    exit(1);
}

// 1. Sign in: a one-shot HTTP listener on loopback receives the browser's redirect.
$server = stream_socket_server('tcp://127.0.0.1:0', $errno, $errstr);
if ($server === false) {
    fwrite(STDERR, "cannot listen on 127.0.0.1: $errstr\n");
    exit(1);
}
$port = (int) substr(strrchr(stream_socket_get_name($server, false), ':'), 1);
$redirectUri = 'http://' . ($options['redirect-host'] ?? $provider['redirect']) . ":$port/";
$verifier = b64url(random_bytes(32));
$state = b64url(random_bytes(32));
$query = [
    'client_id' => $client['client_id'], 'response_type' => 'code', 'redirect_uri' => $redirectUri,
    'scope' => $provider['scope'], 'state' => $state,
    'code_challenge' => b64url(hash('sha256', $verifier, true)), 'code_challenge_method' => 'S256',
];
$query += $options['provider'] === 'google' ? ['access_type' => 'offline', 'prompt' => 'consent'] : ['prompt' => 'select_account'];
echo "Open this address in a browser and sign in (waiting up to 5 minutes):\n",
     $authorizeUrl, '?', http_build_query($query, '', '&', PHP_QUERY_RFC3986), "\n";

$params = null;
$deadline = time() + 300;
while ($params === null && time() < $deadline) {
    $connection = @stream_socket_accept($server, max(1, $deadline - time()));
    if ($connection === false) {
        continue;
    }
    $line = (string) fgets($connection, 8192);
    while (($header = fgets($connection, 8192)) !== false && trim($header) !== '') {
    }
    parse_str((string) parse_url(explode(' ', $line)[1] ?? '', PHP_URL_QUERY), $got);
    $ours = isset($got['state']) && is_string($got['state']) && hash_equals($state, $got['state']);
    $text = $ours ? 'Signed in: you can close this tab and go back to the terminal.' : 'Not this sign-in.';
    fwrite($connection, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: "
        . strlen($text) . "\r\n\r\n$text");
    fclose($connection);
    if ($ours) {
        $params = $got;
    }
}
if ($params === null) {
    fwrite(STDERR, "no sign-in came back within 5 minutes\n");
    exit(1);
}
if (isset($params['error'])) {
    fwrite(STDERR, 'the provider did not sign you in: ' . ($params['error_description'] ?? $params['error']) . "\n");
    exit(1);
}
$answer = token_request($tokenUrl, $client + ['grant_type' => 'authorization_code', 'code' => (string) $params['code'],
                                              'redirect_uri' => $redirectUri, 'code_verifier' => $verifier]);
if (empty($answer['refresh_token'])) {
    fwrite(STDERR, "signed in, but no refresh token came back: allow offline access (offline_access) for the app\n");
    exit(1);
}
$account = account($answer);
echo "\nSigned in", $account !== '' ? " as $account" : '', ". Store this refresh token as you would a password:\n",
     "refresh_token: {$answer['refresh_token']}\n\n",
     "Then, for each batch of mail, trade it for an access token (token endpoint: $tokenUrl, grant_type=refresh_token)\n",
     "and send with ['auth' => 'xoauth2', 'username' => '", $account !== '' ? $account : 'MAILBOX', "', 'password' => \$accessToken];\n",
     "this script does both with --send-to=ADDRESS --username=MAILBOX and RUST_MAIL_REFRESH_TOKEN set.\n";
