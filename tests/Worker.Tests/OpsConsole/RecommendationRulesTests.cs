using Worker.Budgets;
using Worker.OpsConsole;

namespace Worker.Tests.OpsConsole;

public class RecommendationRulesTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);

    private static Kpi Fallback(double? value, string state = "red") =>
        new(Kpis.FallbackRate, value, "ratio", 0.05, 0.10, state, "");

    [Fact]
    public void A_provider_offline_for_five_minutes_is_critical_and_named()
    {
        var r = RecommendationRules.ProviderDown(new ProviderStanding("gemini", "flash", "offline", "breaker open", Now.AddMinutes(-7)), Now)!;

        Assert.Equal(("critical", "gemini/flash"), (r.Severity, r.Subject));
        Assert.Equal("gemini/flash has been offline for 7 min (since 11:53 UTC): breaker open. Its requests go to later steps; check the provider's " +
            "status page and its API key, or take it out of the chain.", r.Text);
    }

    [Fact]
    public void A_provider_critical_for_less_than_five_minutes_is_not_yet_a_recommendation() =>
        Assert.Null(RecommendationRules.ProviderDown(new ProviderStanding("gemini", "flash", "critical", "error rate 60 %", Now.AddMinutes(-4).AddSeconds(-59)), Now));

    [Fact]
    public void A_critical_provider_exactly_five_minutes_in_is_named() =>
        Assert.NotNull(RecommendationRules.ProviderDown(new ProviderStanding("gemini", "flash", "critical", "error rate 60 %", Now.AddMinutes(-5)), Now));

    [Theory]
    [InlineData("healthy")]
    [InlineData("degraded")]
    public void A_provider_neither_offline_nor_critical_is_not_named(string state) =>
        Assert.Null(RecommendationRules.ProviderDown(new ProviderStanding("gemini", "flash", state, "", Now.AddHours(-1)), Now));

    [Fact]
    public void A_fallback_rate_above_target_names_the_figure_and_the_target()
    {
        var figures = new KpiFigures(100, 100, 12, null, 0, 0m, 0, null);

        var r = RecommendationRules.FallbackAboveTarget(Fallback(0.12), figures, "1h")!;

        Assert.Equal(("critical", "fallback_rate"), (r.Severity, r.Subject));
        Assert.StartsWith("The fallback rate over the last 1h is 12 % (12 of 100 answered requests), above the 5 % target", r.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void An_amber_fallback_rate_is_a_warning() =>
        Assert.Equal("warning", RecommendationRules.FallbackAboveTarget(Fallback(0.07, "amber"), new KpiFigures(100, 100, 7, null, 0, 0m, 0, null), "24h")!.Severity);

    [Fact]
    public void A_fallback_rate_on_too_few_requests_or_within_target_says_nothing()
    {
        Assert.Null(RecommendationRules.FallbackAboveTarget(Fallback(0.5), new KpiFigures(19, 19, 10, null, 0, 0m, 0, null), "1h"));
        Assert.Null(RecommendationRules.FallbackAboveTarget(Fallback(0.05, "green"), new KpiFigures(100, 100, 5, null, 0, 0m, 0, null), "1h"));
        Assert.Null(RecommendationRules.FallbackAboveTarget(Fallback(null, "none"), new KpiFigures(0, 0, 0, null, 0, 0m, 0, null), "1h"));
    }

    [Fact]
    public void A_p95_half_again_its_weekly_p95_is_latency_drift()
    {
        var r = RecommendationRules.LatencyDrift(new LatencyFigures("openai", "gpt-4o-mini", 40, 1500, 1000, 1000))!;

        Assert.Equal(("warning", "openai/gpt-4o-mini"), (r.Severity, r.Subject));
        Assert.StartsWith("openai/gpt-4o-mini p95 latency over the last hour is 1500 ms, 1.5x its 7-day p95 of 1000 ms (40 calls)", r.Text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(40, 1499, 1000, 1000)] // below 1.5x
    [InlineData(19, 3000, 1000, 1000)] // too few calls in the hour
    [InlineData(40, 3000, 99, 1000)]   // too few calls over the week
    public void Latency_drift_needs_the_factor_and_enough_samples(long hourCalls, double hourP95, long weekCalls, double weekP95) =>
        Assert.Null(RecommendationRules.LatencyDrift(new LatencyFigures("openai", "m", hourCalls, hourP95, weekCalls, weekP95)));

    [Fact]
    public void A_tenant_past_80_percent_of_its_budget_is_warned_and_one_past_it_is_critical()
    {
        var near = RecommendationRules.BudgetNearlySpent(new TenantBudgetStatus("acme", DateOnly.FromDateTime(Now.UtcDateTime), 25m, 20m))!;
        var spent = RecommendationRules.BudgetNearlySpent(new TenantBudgetStatus("acme", DateOnly.FromDateTime(Now.UtcDateTime), 25m, 25m))!;

        Assert.Equal(("warning", "tenant acme"), (near.Severity, near.Subject));
        Assert.StartsWith("Tenant acme has spent 20.00 of its 25.00 USD budget today (80 %)", near.Text, StringComparison.Ordinal);
        Assert.Equal("critical", spent.Severity);
        Assert.Null(RecommendationRules.BudgetNearlySpent(new TenantBudgetStatus("acme", DateOnly.FromDateTime(Now.UtcDateTime), 25m, 19.99m)));
    }

    [Fact]
    public void Evaluate_puts_critical_recommendations_first()
    {
        var all = RecommendationRules.Evaluate(
            [new ProviderStanding("gemini", "flash", "offline", "breaker open", Now.AddMinutes(-30))],
            Fallback(0.07, "amber"), new KpiFigures(100, 100, 7, null, 0, 0m, 0, null), "1h",
            [new LatencyFigures("openai", "m", 40, 3000, 1000, 1000)],
            [new TenantBudgetStatus("acme", DateOnly.FromDateTime(Now.UtcDateTime), 10m, 10m)],
            Now);

        Assert.Equal(["critical", "critical", "warning", "warning"], all.Select(r => r.Severity));
        Assert.Equal(["gemini/flash", "tenant acme", "fallback_rate", "openai/m"], all.Select(r => r.Subject));
    }

    [Fact]
    public void Healthy_figures_give_no_recommendations() =>
        Assert.Empty(RecommendationRules.Evaluate(
            [new ProviderStanding("gemini", "flash", "healthy", "no threshold crossed", null)],
            Fallback(0.01, "green"), new KpiFigures(100, 100, 1, null, 0, 0m, 0, null), "1h",
            [new LatencyFigures("openai", "m", 40, 1000, 1000, 1000)], [], Now));
}
