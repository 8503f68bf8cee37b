<?php
/**
 * The WHMCS hook points the module registers, in one place so hooks.php, the settings page
 * and the tests agree on them.
 */

declare(strict_types=1);

namespace WHMCS\Module\Addon\WhmcsBridge;

final class HookList
{
    /**
     * Events forwarded to POST /webhooks/whmcs: exactly the hooks the receiver has a schema
     * for (whmcs_bridge/event_schemas.py SCHEMAS; a test keeps the two lists equal).
     */
    public const FORWARDED = [
        'TicketOpen', 'TicketOpenAdmin', 'TicketUserReply', 'TicketAdminReply',
        'TicketStatusChange', 'TicketPriorityChange', 'TicketDepartmentChange',
        'TicketSubjectChange', 'TicketFlagged', 'TicketClose', 'TicketAddNote', 'TicketDelete',
        'TicketDeleteReply', 'TicketMerge', 'TicketSplit', 'TicketPiping',
        'ClientEdit', 'ClientAdd', 'ClientChangePassword', 'UserChangePassword', 'UserEdit',
        'UserAdd', 'ContactAdd', 'ContactEdit', 'ContactDelete', 'ClientClose', 'PreDeleteClient',
        'AfterModuleChangePackage', 'AfterModuleChangePassword', 'AfterModuleCustom',
        'ServiceEdit', 'AdminServiceEdit', 'AfterProductUpgrade', 'AfterConfigOptionsUpgrade',
        'CancellationRequest', 'InvoicePaid',
    ];

    /** Gates that answer with validation errors (a string or a list of strings). */
    public const ERROR_GATES = [
        'ClientDetailsValidation', 'ContactDetailsValidation', 'ShoppingCartValidateUpgrade',
    ];

    /** Gates that refuse with ['abortcmd' => true]. */
    public const ABORT_GATES = [
        'PreModuleChangePackage', 'PreModuleChangePassword', 'PreModuleCustom',
    ];

    /** Hooks that print the bridge's ticket panel. */
    public const PANEL = ['AdminAreaViewTicketPage', 'AdminAreaViewTicketPageSidebar'];

    /** Cron hook that re-sends spooled events. */
    public const CRON = 'AfterCronJob';

    /** @return list<string> */
    public static function gates(): array
    {
        return array_merge(self::ERROR_GATES, self::ABORT_GATES);
    }

    /** @return list<string> every hook point hooks.php registers */
    public static function all(): array
    {
        return array_merge(self::FORWARDED, self::gates(), self::PANEL, [self::CRON]);
    }
}
