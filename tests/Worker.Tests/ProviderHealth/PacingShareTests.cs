using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Worker.ProviderHealth;

namespace Worker.Tests.ProviderHealth;

/// <summary>Each instance allows its share of a provider's per-minute budget, so N instances together stay within it.</summary>
public class PacingShareTests
{
    [Theory]
    [InlineData(60, 1, 60)]
    [InlineData(60, 3, 20)]
    [InlineData(15, 4, 3)]  // rounded down: 12 in all, never 16
    [InlineData(2, 5, 1)]   // at least one call a minute each
    [InlineData(0, 3, 0)]   // no limit stays no limit
    [InlineData(60, 0, 60)] // a count below 1 is read as alone
    public void Share_is_the_budget_over_the_instances(int perMinute, int instances, int share) =>
        Assert.Equal(share, LiveInstances.Share(perMinute, instances));

    [Fact]
    public void Instances_together_never_exceed_the_budget()
    {
        for (var budget = 1; budget <= 200; budget++)
        {
            for (var n = 1; n <= 12; n++)
                Assert.True(LiveInstances.Share(budget, n) * n <= Math.Max(budget, n), $"{budget} among {n}");
        }
    }

    [Fact]
    public void A_failed_count_keeps_the_last_one()
    {
        var live = new LiveInstances();
        Assert.Equal(1, live.Count);
        live.Counted(3);
        live.Counted(0);
        Assert.Equal(1, live.Count);
        live.Counted(4);
        Assert.Equal(15, live.Share(60));
    }

    [Fact]
    public void The_pacer_allows_this_instances_share_and_says_so()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
        var live = new LiveInstances();
        live.Counted(3);
        var budgets = new RateBudgets(Options.Create(new PacingSection { ["openai"] = new PacingOptions { RequestsPerMinute = 10 } }), time, live);

        for (var i = 0; i < 3; i++)
            Assert.True(budgets.TryAcquire("openai", 10).Allowed);
        var refused = budgets.TryAcquire("openai", 10);

        Assert.False(refused.Allowed);
        Assert.Equal("pacing: openai at 3 requests/min (its share of 10 among 3 instances)", refused.Reason);
        Assert.Equal(3, budgets.RequestsPerMinuteHere("openai"));

        // Another instance leaves: the share grows to 5 at once.
        live.Counted(2);
        Assert.True(budgets.TryAcquire("openai", 10).Allowed);
        Assert.True(budgets.TryAcquire("openai", 10).Allowed);
        Assert.False(budgets.TryAcquire("openai", 10).Allowed);
    }
}
