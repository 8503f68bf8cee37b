<?php
/**
 * Logging. Errors are visible by default: each goes to WHMCS's Activity Log (logActivity) and
 * to a short list of recent errors in the module's own table, shown on the module's admin page.
 * WHMCS's Module Log (logModuleCall, secrets blanked through $replaceVars) records nothing
 * unless Module Debug Mode is on, so it only adds detail. Never throws.
 */

declare(strict_types=1);

namespace WHMCS\Module\Addon\WhmcsBridge;

use WHMCS\Database\Capsule;

final class Log
{
    public const TABLE = 'mod_whmcs_bridge_errors';
    public const KEEP = 50;

    public function __construct(private readonly Settings $settings)
    {
    }

    public static function createTable(): void
    {
        if (Capsule::schema()->hasTable(self::TABLE)) {
            return;
        }
        Capsule::schema()->create(self::TABLE, function ($table) {
            $table->increments('id');
            $table->unsignedInteger('created_at')->default(0);
            $table->string('action', 64);
            $table->string('message', 500);
        });
    }

    public static function dropTable(): void
    {
        Capsule::schema()->dropIfExists(self::TABLE);
    }

    /** One request/answer pair in the Module Log ("all"), or only failures ("errors"). */
    public function call(string $action, string $request, Response $answer, bool $failed): void
    {
        if ($this->settings->logLevel === 'off' || (!$failed && $this->settings->logLevel !== 'all')) {
            return;
        }
        if (!function_exists('logModuleCall')) {
            return;
        }
        try {
            logModuleCall(Module::NAME, $action, $request, $answer->describe() . "\n" . Text::cut($answer->body, 2000),
                $answer->status, $this->settings->secrets());
        } catch (\Throwable $e) {
            // the log itself failing must not break the page
        }
    }

    /**
     * Record an error: the Activity Log and the admin page's list (newest KEEP rows) always, the
     * Module Log too unless the module log is off. `log_level` only chooses what the Module Log
     * gets: an error must stay visible on an install with the defaults.
     */
    public function error(string $action, string $message): void
    {
        $message = Text::cut(str_replace($this->settings->secrets() ?: ["\0"], '********', $message), 500);
        if ($this->settings->logLevel !== 'off' && function_exists('logModuleCall')) {
            try {
                logModuleCall(Module::NAME, $action, '', $message, '', $this->settings->secrets());
            } catch (\Throwable $e) {
            }
        }
        self::activity('whmcs-bridge ' . $action . ': ' . $message);
        try {
            Capsule::table(self::TABLE)->insert(['created_at' => time(), 'action' => Text::cut($action, 64), 'message' => $message]);
            $cutoff = Capsule::table(self::TABLE)->orderBy('id', 'desc')->offset(self::KEEP)->limit(1)->value('id');
            if ($cutoff !== null) {
                Capsule::table(self::TABLE)->where('id', '<=', $cutoff)->delete();
            }
        } catch (\Throwable $e) {
        }
    }

    /** One line in WHMCS's Activity Log (about a client when $clientId is given); never throws. */
    public static function activity(string $message, int $clientId = 0): void
    {
        if (!function_exists('logActivity')) {
            return;
        }
        try {
            logActivity(Text::cut($message, 500), $clientId);
        } catch (\Throwable $e) {
        }
    }

    /** @return list<object> newest first */
    public static function recent(int $limit = 20): array
    {
        $rows = Capsule::table(self::TABLE)->orderBy('id', 'desc')->limit($limit)->get();
        return is_array($rows) ? $rows : $rows->all();
    }
}
