<?php
/**
 * The design's event envelope: {"type", "timestamp" (ISO 8601 UTC), "data", "actor"?}. Pure.
 */

declare(strict_types=1);

namespace WHMCS\Module\Addon\WhmcsBridge;

final class Envelope
{
    private const JSON_FLAGS = JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE
        | JSON_INVALID_UTF8_SUBSTITUTE | JSON_PRESERVE_ZERO_FRACTION | JSON_THROW_ON_ERROR;

    /**
     * @param array<string, mixed>      $vars  the hook's $vars (scrubbed here)
     * @param array<string, mixed>|null $actor who caused the event (Actor::detect())
     */
    public static function build(string $type, array $vars, ?array $actor = null, ?\DateTimeInterface $now = null): string
    {
        $envelope = [
            'type' => $type,
            'timestamp' => self::timestamp($now),
            // (object) keeps an empty $vars a JSON object, never []
            'data' => (object) Scrubber::clean($vars),
        ];
        if ($actor !== null) {
            $envelope['actor'] = $actor;
        }
        return json_encode($envelope, self::JSON_FLAGS);
    }

    /** "2026-11-25T13:05:50.123456+00:00" (UTC, microseconds, explicit offset). */
    public static function timestamp(?\DateTimeInterface $now = null): string
    {
        $at = $now === null
            ? new \DateTimeImmutable('now', new \DateTimeZone('UTC'))
            : \DateTimeImmutable::createFromInterface($now)->setTimezone(new \DateTimeZone('UTC'));
        return $at->format('Y-m-d\TH:i:s.uP');
    }
}
