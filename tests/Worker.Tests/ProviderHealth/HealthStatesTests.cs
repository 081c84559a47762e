using Polly.CircuitBreaker;
using Worker.Persistence;
using Worker.ProviderHealth;

namespace Worker.Tests.ProviderHealth;

/// <summary>State derivation at the default thresholds: offline, critical (50 %), degraded (10 % or 3x latency), healthy.</summary>
public class HealthStatesTests
{
    private static readonly ProviderHealthOptions Options = new();
    private static readonly DateTimeOffset Now = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    internal static HealthFigures Figures(long calls = 0, long errors = 0, long okCalls = -1, double? p95 = null, long baselineCalls = 0,
        double? baselineP95 = null, int recentPings = 0, int recentDown = 0, string? lastPingClass = null) =>
        HealthFigures.None(new ProviderModel("gemini", "gemini-2.5-pro")) with
        {
            Calls = calls,
            Errors = errors,
            OkCalls = okCalls >= 0 ? okCalls : calls - errors,
            P95Ms = p95,
            BaselineCalls = baselineCalls,
            BaselineP95Ms = baselineP95,
            RecentPings = recentPings,
            RecentPingsDown = recentDown,
            LastPing = recentPings > 0 ? new LastPing(Now, recentDown > 0 ? PingOutcome.Down : PingOutcome.Up, 100, lastPingClass, null, null, "i") : null,
        };

    private static HealthVerdict Derive(HealthFigures f, CircuitState breaker = CircuitState.Closed) => HealthStates.Derive(f, breaker, Options);

    [Fact]
    public void No_traffic_and_no_pings_is_healthy()
    {
        var verdict = Derive(Figures());
        Assert.Equal(HealthState.Healthy, verdict.State);
        Assert.Equal("no calls or pings to judge by", verdict.Reason);
    }

    [Theory]
    [InlineData(CircuitState.Open)]
    [InlineData(CircuitState.Isolated)]
    public void Open_or_isolated_breaker_is_offline_whatever_the_traffic(CircuitState breaker)
    {
        var verdict = Derive(Figures(calls: 100), breaker);
        Assert.Equal(HealthState.Offline, verdict.State);
        Assert.StartsWith("breaker ", verdict.Reason);
    }

    [Fact]
    public void Half_open_breaker_alone_is_not_offline() =>
        Assert.Equal(HealthState.Healthy, Derive(Figures(calls: 10), CircuitState.HalfOpen).State);

    [Fact]
    public void The_last_pings_all_down_is_offline_even_with_a_closed_breaker()
    {
        var verdict = Derive(Figures(recentPings: 2, recentDown: 2, lastPingClass: "server"));
        Assert.Equal(HealthState.Offline, verdict.State);
        Assert.Equal("last 2 ping(s) down (server)", verdict.Reason);
    }

    [Theory]
    [InlineData(1, 1)] // fewer pings than PingFailuresToIsolate
    [InlineData(2, 1)] // one of the last two was up
    public void Fewer_down_pings_than_needed_to_isolate_are_not_offline(int pings, int down) =>
        Assert.Equal(HealthState.Healthy, Derive(Figures(recentPings: pings, recentDown: down)).State);

    [Theory]
    [InlineData(4, 2, HealthState.Critical)]  // 50 % of the minimum 4 calls
    [InlineData(10, 6, HealthState.Critical)]
    [InlineData(10, 4, HealthState.Degraded)]  // 40 %
    [InlineData(10, 1, HealthState.Degraded)]  // exactly 10 %
    [InlineData(20, 1, HealthState.Healthy)]   // 5 %
    [InlineData(3, 3, HealthState.Healthy)]    // 100 %, but below the minimum of 4 calls
    public void Error_rate_over_the_window_decides_critical_and_degraded(long calls, long errors, HealthState expected) =>
        Assert.Equal(expected, Derive(Figures(calls, errors)).State);

    [Theory]
    [InlineData(301, 100, 20, HealthState.Degraded)]
    [InlineData(300, 100, 20, HealthState.Healthy)]  // exactly 3x is not above
    [InlineData(900, 100, 19, HealthState.Healthy)]  // baseline has too few calls to judge by
    public void P95_above_three_times_the_baseline_is_degraded(double p95, double baseline, long baselineCalls, HealthState expected) =>
        Assert.Equal(expected, Derive(Figures(calls: 10, p95: p95, baselineCalls: baselineCalls, baselineP95: baseline)).State);

    [Fact]
    public void Latency_needs_enough_successful_calls_in_the_window() =>
        Assert.Equal(HealthState.Healthy, Derive(Figures(calls: 3, p95: 5000, baselineCalls: 100, baselineP95: 100)).State);
}
