using Polly.CircuitBreaker;
using Worker.ProviderHealth;
using static Worker.Tests.ProviderHealth.HealthStatesTests;

namespace Worker.Tests.ProviderHealth;

/// <summary>Each alert rule at its default threshold, just above and just below.</summary>
public class AlertRulesTests
{
    private static readonly ProviderHealthOptions Options = new();
    private static readonly DateTimeOffset Now = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    private static List<string> Rules(HealthFigures f, CircuitState breaker = CircuitState.Closed, DateTimeOffset? openSince = null) =>
        [.. AlertRules.Evaluate(f, breaker, openSince, Now, Options).Select(a => a.Rule)];

    [Fact]
    public void Nothing_fires_without_traffic() => Assert.Empty(Rules(Figures()));

    [Fact]
    public void Offline_fires_once_the_breaker_has_been_open_for_more_than_a_minute()
    {
        Assert.Equal([AlertRules.ProviderOffline], Rules(Figures(), CircuitState.Isolated, Now.AddSeconds(-61)));
        Assert.Empty(Rules(Figures(), CircuitState.Isolated, Now.AddSeconds(-60)));
        Assert.Empty(Rules(Figures(), CircuitState.HalfOpen, Now.AddMinutes(-5)));
    }

    [Fact]
    public void Offline_by_pings_counts_from_the_first_down_ping_of_the_run()
    {
        var down = Figures(recentPings: 2, recentDown: 2, lastPingClass: "server");
        Assert.Equal([AlertRules.ProviderOffline], Rules(down with { DownSince = Now.AddSeconds(-90) }));
        Assert.Empty(Rules(down with { DownSince = Now.AddSeconds(-30) }));
        // The breaker opened earlier than the pings started failing: the earlier instant counts.
        Assert.Equal([AlertRules.ProviderOffline], Rules(down with { DownSince = Now.AddSeconds(-30) }, CircuitState.Open, Now.AddMinutes(-2)));
    }

    [Theory]
    [InlineData(10, 2, true)]
    [InlineData(10, 1, false)] // exactly 10 % is not above
    [InlineData(9, 9, false)]  // fewer than 10 calls
    public void Error_rate_above_ten_percent_with_enough_calls(long calls, long errors, bool fires) =>
        Assert.Equal(fires, Rules(Figures(calls, errors)).Contains(AlertRules.ErrorRate));

    [Theory]
    [InlineData(501, true)]
    [InlineData(500, false)]
    public void Latency_above_five_times_the_baseline(double p95, bool fires) =>
        Assert.Equal(fires, Rules(Figures(calls: 10, p95: p95, baselineCalls: 20, baselineP95: 100)).Contains(AlertRules.Latency));

    [Theory]
    [InlineData(10, 2, true)]
    [InlineData(10, 1, false)]
    [InlineData(5, 5, false)]
    public void Fallback_rate_above_ten_percent_of_enough_requests(long requests, long fellBack, bool fires) =>
        Assert.Equal(fires, Rules(Figures() with { FirstStepRequests = requests, FellBack = fellBack }).Contains(AlertRules.FallbackRate));

    [Theory]
    [InlineData(3, true)]
    [InlineData(2, false)]
    public void Three_breaker_openings_on_one_instance_are_flapping(int opens, bool fires) =>
        Assert.Equal(fires, Rules(Figures() with { MostOpens = opens }).Contains(AlertRules.BreakerFlapping));

    [Fact]
    public void Auth_failure_fires_until_something_succeeds_after_it()
    {
        var rejected = Figures() with { LastAuthFailure = Now.AddMinutes(-1) };
        Assert.Equal([AlertRules.AuthFailed], Rules(rejected));
        Assert.Equal([AlertRules.AuthFailed], Rules(rejected with { LastSuccess = Now.AddMinutes(-2) }));
        Assert.Empty(Rules(rejected with { LastSuccess = Now.AddSeconds(-30) }));
    }
}
