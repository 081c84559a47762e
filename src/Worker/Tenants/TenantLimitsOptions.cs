namespace Worker.Tenants;

/// <summary>
/// The <c>TenantLimits</c> section: how many of a tenant's requests may run at once across the cluster, e.g.
/// <c>TenantLimits:Tenants:acme:MaxConcurrency=8</c> (env <c>TenantLimits__Tenants__acme__MaxConcurrency</c>), and
/// optionally one limit for every tenant not listed. Off by default: nothing is limited until a key is set.
/// </summary>
/// <remarks>
/// A separate section from <c>Budgets</c> because a Budgets tenant entry requires a daily budget: a tenant may have a
/// concurrency limit and no budget. Requests without a tenant are never limited here.
/// </remarks>
public sealed class TenantLimitsOptions
{
    public const string Section = "TenantLimits";

    /// <summary>
    /// The limit of a tenant not under <see cref="Tenants"/>, cluster-wide; empty (the default) leaves such tenants
    /// unlimited (env TenantLimits__DefaultMaxConcurrency).
    /// </summary>
    public int? DefaultMaxConcurrency { get; set; }

    /// <summary>Tenant name (case-insensitive) to its limit.</summary>
    public Dictionary<string, TenantLimitOptions> Tenants { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// How long a request that finds its tenant at the limit waits (durably, without holding a consumer slot) before it
    /// looks again (env TenantLimits__RetryAfter). Short: the request is first in line again as soon as it is back.
    /// </summary>
    public TimeSpan RetryAfter { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Up to this much is added at random to <see cref="RetryAfter"/>, so a burst that waited together does not come
    /// back together (env TenantLimits__RetryJitter).
    /// </summary>
    public TimeSpan RetryJitter { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary>One tenant's limit.</summary>
public sealed class TenantLimitOptions
{
    /// <summary>Requests of the tenant running at once across the cluster, at least 1; required.</summary>
    public int? MaxConcurrency { get; set; }
}
