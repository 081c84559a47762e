namespace Worker.Persistence;

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
