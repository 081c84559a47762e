using Worker.ProviderHealth;
using Worker.Routing;

namespace Worker.Tests.Routing;

public class RankingTests
{
    private static readonly RankingWeights Weights = new();

    private static Candidate C(string name, HealthState health = HealthState.Healthy, double? errors = null, double? p95 = null, double? quota = null,
        decimal? cost = null) => new(name, "m", health, errors, p95, quota, cost);

    private static List<string> Order(params Candidate[] candidates) => [.. Ranking.Order(candidates, Weights, margin: 0.1).Select(c => c.Provider)];

    [Fact]
    public void A_quiet_system_keeps_the_configured_order()
    {
        Assert.Equal(["a", "b", "c"], Order(C("a"), C("b"), C("c")));
    }

    [Fact]
    public void Small_differences_keep_the_configured_order()
    {
        // 10 % errors cost a: 0.05 of score, below the 0.1 margin.
        Assert.Equal(["a", "b"], Order(C("a", errors: 0.10), C("b", errors: 0.0)));
    }

    [Fact]
    public void A_failing_primary_goes_behind_a_healthy_fallback()
    {
        // 40 % errors: 0.2 less reliability score, past the margin.
        Assert.Equal(["b", "a"], Order(C("a", errors: 0.40), C("b", errors: 0.01)));
    }

    [Fact]
    public void A_much_slower_candidate_goes_behind_a_faster_one()
    {
        // a's p95 is 4x b's: latency score 0.25 against 1, weighted 0.3: 0.225 apart.
        Assert.Equal(["b", "a"], Order(C("a", p95: 4000), C("b", p95: 1000)));
    }

    [Fact]
    public void Critical_candidates_go_after_the_others_whatever_their_score()
    {
        Assert.Equal(["b", "c", "a"], Order(C("a", HealthState.Critical), C("b", errors: 0.1), C("c")));
    }

    [Fact]
    public void Offline_candidates_go_last_behind_critical_ones()
    {
        Assert.Equal(["c", "b", "a"], Order(C("a", HealthState.Offline), C("b", HealthState.Critical), C("c")));
    }

    [Fact]
    public void A_low_quota_counts_through_the_availability_weight()
    {
        Assert.Equal(["b", "a"], Order(C("a", quota: 0.3), C("b", quota: 0.9)));
    }

    [Fact]
    public void A_spent_quota_goes_after_the_others_like_a_critical_one()
    {
        Assert.Equal(["b", "c", "a"], Order(C("a", quota: 0.0), C("b", errors: 0.1), C("c", HealthState.Critical)));
    }

    [Fact]
    public void Cost_counts_only_when_weighted()
    {
        Candidate[] candidates = [C("a", cost: 0.01m), C("b", cost: 0.001m)];
        Assert.Equal(["a", "b"], Order(candidates));
        Assert.Equal(["b", "a"], Ranking.Order(candidates, new RankingWeights { Cost = 1 }, 0.1).Select(c => c.Provider));
    }

    [Fact]
    public void The_score_counts_unknown_figures_as_the_best()
    {
        Assert.Equal(1.0, Ranking.Score(C("a"), Weights, null, null), 6);
        Assert.Equal(0.5 * 0.5 + 0.3 * 0.5 + 0.2 * 0.25, Ranking.Score(C("a", errors: 0.5, p95: 2000, quota: 0.25), Weights, 1000, null), 6);
    }
}
