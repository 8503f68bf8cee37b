<?php
/**
 * Standard Webhooks signing (https://www.standardwebhooks.com), the same scheme as the bridge's
 * whmcs_bridge/signing.py: HMAC-SHA256 over "id.timestamp.body" under the key the `whsec_`
 * secret decodes to, sent as `webhook-signature: v1,<base64>`.
 */

declare(strict_types=1);

namespace WHMCS\Module\Addon\WhmcsBridge;

final class Signer
{
    public const PREFIX = 'whsec_';

    /** The HMAC key behind a secret; the `whsec_` prefix is optional as in the reference lib. */
    public static function key(string $secret): string
    {
        $raw = str_starts_with($secret, self::PREFIX) ? substr($secret, strlen(self::PREFIX)) : $secret;
        $key = base64_decode($raw, true);
        if ($key === false || $key === '') {
            throw new \InvalidArgumentException('the webhook secret is not whsec_<base64>');
        }
        return $key;
    }

    public static function sign(string $secret, string $id, int $timestamp, string $body): string
    {
        $mac = hash_hmac('sha256', $id . '.' . $timestamp . '.' . $body, self::key($secret), true);
        return 'v1,' . base64_encode($mac);
    }

    /**
     * Header lines for one delivery. The id is the event's (stable across retries); the
     * timestamp is the send time, so a spooled event re-sent hours later is not stale.
     *
     * @return list<string>
     */
    public static function headers(string $secret, string $id, string $body, ?int $timestamp = null): array
    {
        $ts = $timestamp ?? time();
        return [
            'webhook-id: ' . $id,
            'webhook-timestamp: ' . $ts,
            'webhook-signature: ' . self::sign($secret, $id, $ts, $body),
        ];
    }

    /** A new event id: "msg_" + 32 hex characters of randomness. */
    public static function newId(): string
    {
        return 'msg_' . bin2hex(random_bytes(16));
    }
}
