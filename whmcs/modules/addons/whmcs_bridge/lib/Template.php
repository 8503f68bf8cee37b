<?php
/**
 * Renders the module's markup from plain PHP templates in templates/<name>.php (no Smarty: the
 * admin output function echoes HTML, and the ticket-page hooks return it, as WHMCS's addon docs
 * describe). The class builds the values; the template only places them, each through e().
 */

declare(strict_types=1);

namespace WHMCS\Module\Addon\WhmcsBridge;

final class Template
{
    /** The folder beside lib/ holding the templates. */
    public static function dir(): string
    {
        return dirname(__DIR__) . '/templates';
    }

    /**
     * The output of templates/<name>.php with $vars as its variables. A template that throws
     * leaves no output behind (its buffer is dropped) and the exception goes to the caller.
     *
     * @param array<string, mixed> $vars
     */
    public static function render(string $name, array $vars): string
    {
        if (preg_match('/^[a-z_]+$/', $name) !== 1) {
            throw new \InvalidArgumentException('template name must be lowercase letters and _: ' . $name);
        }
        require_once __DIR__ . '/escape.php';
        $level = ob_get_level();
        ob_start();
        try {
            (static function (string $__template, array $__vars): void {
                extract($__vars, EXTR_SKIP);
                include $__template;
            })(self::dir() . '/' . $name . '.php', $vars);
            return (string) ob_get_clean();
        } finally {
            while (ob_get_level() > $level) {
                ob_end_clean();
            }
        }
    }
}
