namespace Worker.Budgets;

/// <summary>
/// The <c>Budgets</c> section: a daily spending limit in USD per tenant, e.g. <c>Budgets:Tenants:acme:DailyUsd=25</c>
/// (env <c>Budgets__Tenants__acme__DailyUsd</c>), and optionally one for every tenant not listed. A day is a UTC day.
/// Tenant names match case-insensitively, like every configuration key: the configuration cannot hold both "Acme" and
/// "acme", so a request's "ACME" is the tenant configured as "acme".
/// </summary>
public sealed class BudgetsOptions
{
    public const string Section = "Budgets";

    /// <summary>The longest tenant name <c>tenant_spend</c> holds.</summary>
    public const int MaxTenantLength = 128;

    /// <summary>
    /// The daily budget of a tenant not under <see cref="Tenants"/>; empty (the default) leaves such tenants unlimited
    /// (env Budgets__DefaultDailyUsd).
    /// </summary>
    public decimal? DefaultDailyUsd { get; set; }

    /// <summary>Tenant name to its budget.</summary>
    public Dictionary<string, TenantBudgetOptions> Tenants { get; set; } = new(StringComparer.OrdinalIgnoreCase);
}

/// <summary>One tenant's budget.</summary>
public sealed class TenantBudgetOptions
{
    /// <summary>USD the tenant may spend per UTC day, above 0; required (no entry at all means no budget).</summary>
    public decimal? DailyUsd { get; set; }
}
