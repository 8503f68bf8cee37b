<?php
/**
 * One HTTP answer from the bridge; status 0 means no answer at all (connect error, timeout).
 * `timedOut` tells a timeout (the bridge may only be slow) from a refusal or a DNS error.
 */

declare(strict_types=1);

namespace WHMCS\Module\Addon\WhmcsBridge;

final class Response
{
    public function __construct(
        public readonly int $status,
        public readonly string $body,
        public readonly string $error = '',
        public readonly bool $timedOut = false,
    ) {
    }

    public function isSuccess(): bool
    {
        return $this->status >= 200 && $this->status < 300;
    }

    /**
     * Worth trying again later: no answer, a 5xx, or the two 4xx that mean "not now"
     * (408 Request Timeout, 429 Too Many Requests). Other 4xx are final.
     */
    public function isRetryable(): bool
    {
        return $this->status === 0 || $this->status >= 500 || in_array($this->status, [408, 429], true);
    }

    /** The body as a JSON object, or null when it is not one. */
    public function json(): ?array
    {
        $data = json_decode($this->body, true);
        return is_array($data) ? $data : null;
    }

    /** Short description for logs and the admin page ("HTTP 503", "connection refused"). */
    public function describe(): string
    {
        if ($this->status === 0) {
            return $this->error !== '' ? $this->error : 'no answer';
        }
        return 'HTTP ' . $this->status;
    }
}
