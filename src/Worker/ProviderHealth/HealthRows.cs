using Microsoft.EntityFrameworkCore;

namespace Worker.ProviderHealth;

/// <summary>What a ping says about a provider. Stored lower-case.</summary>
public static class PingOutcome
{
    /// <summary>The provider answered: text, or a 2xx it could not fill (MAX_TOKENS before text, a block), or a 4xx about the request.</summary>
    public const string Up = "up";

    /// <summary>Server error, network failure, timeout or a rejected key.</summary>
    public const string Down = "down";

    /// <summary>A 429: alive, but not taking more calls now. Neither up nor down for the breakers.</summary>
    public const string Throttled = "throttled";
}

/// <summary>Breaker transitions as stored in <c>breaker_events</c>.</summary>
public static class BreakerTransition
{
    /// <summary>Opened by live failures.</summary>
    public const string Opened = "opened";

    /// <summary>Held open by failed pings or a rejected key.</summary>
    public const string Isolated = "isolated";

    public const string Closed = "closed";
}

/// <summary>One health ping (table <c>provider_pings</c>), written by the instance that won its slot.</summary>
public sealed class PingRow
{
    public long Id { get; set; }

    public string Provider { get; set; } = "";

    public string Model { get; set; } = "";

    /// <summary>The schedule slot the ping ran for: floor(epoch seconds / PingInterval).</summary>
    public long Slot { get; set; }

    /// <summary>When the call started.</summary>
    public DateTimeOffset PingedAt { get; set; }

    public int LatencyMs { get; set; }

    /// <summary>A <see cref="PingOutcome"/>.</summary>
    public string Outcome { get; set; } = "";

    /// <summary>The error class wire name, also on an "up" ping the provider answered with an error (bad_output, ...).</summary>
    public string? ErrorClass { get; set; }

    public int? HttpStatus { get; set; }

    public string? Detail { get; set; }

    /// <summary>The instance that pinged (ProviderHealth:InstanceName).</summary>
    public string Instance { get; set; } = "";
}

/// <summary>A claim on one run of a once-per-cluster job (table <c>provider_health_slots</c>): the first insert wins.</summary>
public sealed class HealthSlotRow
{
    /// <summary>"ping:{provider}/{model}" or "alerts".</summary>
    public string Job { get; set; } = "";

    public long Slot { get; set; }

    public string ClaimedBy { get; set; } = "";

    public DateTimeOffset ClaimedAt { get; set; }
}

/// <summary>A breaker opening or closing on one instance (table <c>breaker_events</c>); flapping is counted from these.</summary>
public sealed class BreakerEventRow
{
    public long Id { get; set; }

    public string Provider { get; set; } = "";

    public string Model { get; set; } = "";

    /// <summary>A <see cref="BreakerTransition"/>.</summary>
    public string Transition { get; set; } = "";

    public DateTimeOffset At { get; set; }

    public string Instance { get; set; } = "";
}

/// <summary>An alert (table <c>provider_alerts</c>); at most one open per rule, provider and model.</summary>
public sealed class AlertRow
{
    public Guid Id { get; set; }

    /// <summary>A rule name from <see cref="AlertRules"/>.</summary>
    public string Rule { get; set; } = "";

    public string Provider { get; set; } = "";

    public string Model { get; set; } = "";

    public DateTimeOffset RaisedAt { get; set; }

    /// <summary>Null while the alert is open.</summary>
    public DateTimeOffset? ResolvedAt { get; set; }

    public string Detail { get; set; } = "";
}

/// <summary>The provider health tables in the audit database's model (AuditDbContext calls this).</summary>
public static class ProviderHealthModel
{
    public static void Configure(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<PingRow>(e =>
        {
            e.ToTable("provider_pings");
            e.HasKey(p => p.Id);
            e.Property(p => p.Id).HasColumnName("id").UseIdentityAlwaysColumn();
            e.Property(p => p.Provider).HasColumnName("provider").HasMaxLength(128);
            e.Property(p => p.Model).HasColumnName("model").HasMaxLength(128);
            e.Property(p => p.Slot).HasColumnName("slot");
            e.Property(p => p.PingedAt).HasColumnName("pinged_at");
            e.Property(p => p.LatencyMs).HasColumnName("latency_ms");
            e.Property(p => p.Outcome).HasColumnName("outcome").HasMaxLength(16);
            e.Property(p => p.ErrorClass).HasColumnName("error_class").HasMaxLength(32);
            e.Property(p => p.HttpStatus).HasColumnName("http_status");
            e.Property(p => p.Detail).HasColumnName("detail");
            e.Property(p => p.Instance).HasColumnName("instance").HasMaxLength(128);
            e.HasIndex(p => new { p.Provider, p.Model, p.PingedAt }).HasDatabaseName("ix_provider_pings_provider_model_pinged_at");
            // The sync step reads every pair's new pings by time.
            e.HasIndex(p => p.PingedAt).HasDatabaseName("ix_provider_pings_pinged_at");
        });

        modelBuilder.Entity<HealthSlotRow>(e =>
        {
            e.ToTable("provider_health_slots");
            e.HasKey(s => new { s.Job, s.Slot });
            e.Property(s => s.Job).HasColumnName("job").HasMaxLength(300);
            e.Property(s => s.Slot).HasColumnName("slot");
            e.Property(s => s.ClaimedBy).HasColumnName("claimed_by").HasMaxLength(128);
            e.Property(s => s.ClaimedAt).HasColumnName("claimed_at");
            e.HasIndex(s => s.ClaimedAt).HasDatabaseName("ix_provider_health_slots_claimed_at");
        });

        modelBuilder.Entity<BreakerEventRow>(e =>
        {
            e.ToTable("breaker_events");
            e.HasKey(b => b.Id);
            e.Property(b => b.Id).HasColumnName("id").UseIdentityAlwaysColumn();
            e.Property(b => b.Provider).HasColumnName("provider").HasMaxLength(128);
            e.Property(b => b.Model).HasColumnName("model").HasMaxLength(128);
            e.Property(b => b.Transition).HasColumnName("transition").HasMaxLength(16);
            e.Property(b => b.At).HasColumnName("at");
            e.Property(b => b.Instance).HasColumnName("instance").HasMaxLength(128);
            e.HasIndex(b => new { b.Provider, b.Model, b.At }).HasDatabaseName("ix_breaker_events_provider_model_at");
            e.HasIndex(b => b.At).HasDatabaseName("ix_breaker_events_at");
        });

        modelBuilder.Entity<AlertRow>(e =>
        {
            e.ToTable("provider_alerts");
            e.HasKey(a => a.Id);
            e.Property(a => a.Id).HasColumnName("id");
            e.Property(a => a.Rule).HasColumnName("rule").HasMaxLength(64);
            e.Property(a => a.Provider).HasColumnName("provider").HasMaxLength(128);
            e.Property(a => a.Model).HasColumnName("model").HasMaxLength(128);
            e.Property(a => a.RaisedAt).HasColumnName("raised_at");
            e.Property(a => a.ResolvedAt).HasColumnName("resolved_at");
            e.Property(a => a.Detail).HasColumnName("detail");
            // One open alert per rule, provider and model: raising is an INSERT ... ON CONFLICT DO NOTHING on this.
            e.HasIndex(a => new { a.Rule, a.Provider, a.Model }).IsUnique().HasFilter("resolved_at IS NULL")
                .HasDatabaseName("ux_provider_alerts_open");
            e.HasIndex(a => a.RaisedAt).HasDatabaseName("ix_provider_alerts_raised_at");
        });
    }
}
