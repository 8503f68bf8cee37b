<?php
/**
 * The only place that talks to the network: raw cURL (no Composer dependencies), short timeouts,
 * TLS verified, the module's User-Agent on every request. Never throws.
 */

declare(strict_types=1);

namespace WHMCS\Module\Addon\WhmcsBridge;

class Http
{
    public function __construct(
        private readonly int $timeoutMs,
        private readonly string $userAgent,
    ) {
    }

    public static function forSettings(Settings $settings): self
    {
        return new self($settings->timeoutMs, Module::userAgent());
    }

    /** The same client with a shorter timeout, never a longer one (the ticket panel's budget). */
    public function within(int $budgetMs): self
    {
        return new self(max(1, min($this->timeoutMs, $budgetMs)), $this->userAgent);
    }

    /**
     * @param list<string> $headers header lines ("Name: value")
     */
    public function send(string $method, string $url, array $headers = [], ?string $body = null): Response
    {
        if (!function_exists('curl_init')) {
            return new Response(0, '', 'the PHP curl extension is not installed');
        }
        $ch = curl_init();
        if ($ch === false) {
            return new Response(0, '', 'curl_init failed');
        }
        $headers[] = 'User-Agent: ' . $this->userAgent;
        $headers[] = 'Accept: application/json, text/html';
        $headers[] = 'Expect:'; // no 100-continue round trip on larger bodies
        $options = [
            CURLOPT_URL => $url,
            CURLOPT_CUSTOMREQUEST => $method,
            CURLOPT_RETURNTRANSFER => true,
            CURLOPT_HTTPHEADER => $headers,
            CURLOPT_CONNECTTIMEOUT_MS => $this->timeoutMs,
            CURLOPT_TIMEOUT_MS => $this->timeoutMs,
            CURLOPT_NOSIGNAL => true, // needed for sub-second timeouts
            CURLOPT_FOLLOWLOCATION => false,
            CURLOPT_SSL_VERIFYPEER => true,
            CURLOPT_SSL_VERIFYHOST => 2,
            CURLOPT_PROTOCOLS => CURLPROTO_HTTP | CURLPROTO_HTTPS,
        ];
        if ($body !== null) {
            $options[CURLOPT_POSTFIELDS] = $body;
        }
        curl_setopt_array($ch, $options);
        $answer = curl_exec($ch);
        $status = (int) curl_getinfo($ch, CURLINFO_RESPONSE_CODE);
        $error = $answer === false ? curl_error($ch) : '';
        $timedOut = $answer === false && curl_errno($ch) === CURLE_OPERATION_TIMEDOUT;
        curl_close($ch);
        if ($answer === false) {
            return new Response(0, '', $error !== '' ? $error : 'request failed', $timedOut);
        }
        return new Response($status, (string) $answer);
    }
}
