using System.Globalization;
using Polly.CircuitBreaker;

namespace Worker.ProviderHealth;

/// <summary>How a provider and model are doing, worst first in severity order: offline, critical, degraded, healthy.</summary>
public enum HealthState
{
    Healthy,
    Degraded,
    Critical,
    Offline,
}

/// <summary>A health state and the reason for it, in words.</summary>
public sealed record HealthVerdict(HealthState State, string Reason);

/// <summary>Derives the health state from live traffic, pings and the breaker. No I/O: every rule is unit-tested.</summary>
public static class HealthStates
{
    public static string ToWireName(this HealthState state) => state.ToString().ToLowerInvariant();

    /// <summary>closed, open, half_open or isolated.</summary>
    public static string ToWireName(this CircuitState state) => state == CircuitState.HalfOpen ? "half_open" : state.ToString().ToLowerInvariant();

    public static HealthVerdict Derive(HealthFigures f, CircuitState breaker, ProviderHealthOptions options)
    {
        var s = options.States;
        if (breaker is CircuitState.Open or CircuitState.Isolated)
            return new(HealthState.Offline, $"breaker {breaker.ToWireName()}");

        if (PingsSayDown(f, options))
            return new(HealthState.Offline, $"last {f.RecentPingsDown} ping(s) down ({f.LastPing!.ErrorClass ?? "unknown"})");

        if (f.Calls >= s.MinCalls && f.ErrorRate >= s.CriticalErrorRate)
            return new(HealthState.Critical, $"error rate {Percent(f.ErrorRate)} over {f.Calls} calls (critical at {Percent(s.CriticalErrorRate)})");

        if (f.Calls >= s.MinCalls && f.ErrorRate >= s.DegradedErrorRate)
            return new(HealthState.Degraded, $"error rate {Percent(f.ErrorRate)} over {f.Calls} calls (degraded at {Percent(s.DegradedErrorRate)})");

        if (LatencyFactor(f, s.MinCalls, s.MinBaselineCalls) is { } factor && factor > s.DegradedLatencyFactor)
            return new(HealthState.Degraded, $"p95 {f.P95Ms:0} ms is {factor:0.#}x the baseline {f.BaselineP95Ms:0} ms (degraded above {s.DegradedLatencyFactor:0.#}x)");

        return new(HealthState.Healthy, f.Calls == 0 && f.LastPing is null ? "no calls or pings to judge by" : "no threshold crossed");
    }

    /// <summary>The last PingFailuresToIsolate pings were all down: the breakers hold this provider open.</summary>
    public static bool PingsSayDown(HealthFigures f, ProviderHealthOptions options) =>
        f.RecentPings >= options.PingFailuresToIsolate && f.RecentPingsDown == f.RecentPings;

    /// <summary>The window's p95 over the baseline's, when both rest on enough successful calls.</summary>
    public static double? LatencyFactor(HealthFigures f, int minCalls, int minBaselineCalls) =>
        f.OkCalls >= minCalls && f.BaselineCalls >= minBaselineCalls && f.P95Ms is { } p95 && f.BaselineP95Ms is { } baseline && baseline > 0
            ? p95 / baseline
            : null;

    internal static string Percent(double? rate) => rate is { } r ? (r * 100).ToString("0.#", CultureInfo.InvariantCulture) + " %" : "n/a";
}
