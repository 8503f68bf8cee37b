<?php
/**
 * A gate's answer: allow, or refuse with the bridge's message. `fromFailMode` marks a decision
 * made without the bridge (it could not be reached or answered nonsense).
 */

declare(strict_types=1);

namespace WHMCS\Module\Addon\WhmcsBridge;

final class Decision
{
    public function __construct(
        public readonly bool $allow,
        public readonly string $message = '',
        public readonly string $reason = '',
        public readonly ?int $ticketId = null,
        public readonly bool $fromFailMode = false,
    ) {
    }

    /** Parse the bridge's 200 answer; null when it is not a usable gate answer. */
    public static function fromResponse(Response $answer): ?self
    {
        if ($answer->status !== 200) {
            return null;
        }
        $data = $answer->json();
        if ($data === null || !isset($data['allow']) || !is_bool($data['allow'])) {
            return null;
        }
        if ($data['allow']) {
            return new self(true);
        }
        $ticket = $data['ticket_id'] ?? null;
        return new self(
            false,
            is_string($data['message'] ?? null) ? $data['message'] : '',
            is_string($data['reason'] ?? null) ? $data['reason'] : '',
            is_int($ticket) ? $ticket : (is_numeric($ticket) ? (int) $ticket : null),
        );
    }

    /**
     * What the hook returns to WHMCS. Validation gates: [] to allow, [message] to refuse.
     * Pre-module gates: [] to allow; to refuse, both `abortcmd` (honoured on the admin, API and
     * cron paths) and `abortWithError` with the message (honoured on the client-area service
     * path, and shown to the person there), since the same hook runs on every path.
     */
    public function toHookResult(string $hook, string $fallbackMessage): array
    {
        if ($this->allow) {
            return [];
        }
        $message = $this->message !== '' ? $this->message : $fallbackMessage;
        if (in_array($hook, HookList::ABORT_GATES, true)) {
            return ['abortcmd' => true, 'abortWithError' => $message];
        }
        return [$message];
    }
}
