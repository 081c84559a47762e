namespace Worker.Persistence;

/// <summary>
/// What one tenant has spent on one day (UTC), in USD (table <c>tenant_spend</c>). Every instance adds to the same row,
/// so a tenant's daily budget holds across the cluster.
/// </summary>
public sealed class TenantSpendRow
{
    public string Tenant { get; set; } = "";

    public DateOnly Day { get; set; }

    /// <summary>Charged before each call (its estimate) and corrected to the call's estimated cost after it.</summary>
    public decimal SpentUsd { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>
/// A worker instance that is alive (table <c>worker_instances</c>): each renews its row, and cluster-wide limits
/// (a provider's RequestsPerMinute) are shared among the instances seen recently.
/// </summary>
public sealed class WorkerInstanceRow
{
    public string Instance { get; set; } = "";

    public DateTimeOffset StartedAt { get; set; }

    public DateTimeOffset SeenAt { get; set; }
}
