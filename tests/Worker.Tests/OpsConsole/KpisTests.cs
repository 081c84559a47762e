using Worker.OpsConsole;

namespace Worker.Tests.OpsConsole;

public class KpisTests
{
    private static readonly ConsoleTargets Targets = new();

    private static Kpi Tile(IReadOnlyList<Kpi> kpis, string name) => kpis.Single(k => k.Name == name);

    [Theory]
    [InlineData(0.9995, "green")]
    [InlineData(0.999, "green")]
    [InlineData(0.995, "amber")]
    [InlineData(0.99, "amber")]
    [InlineData(0.9899, "red")]
    public void Availability_is_judged_higher_is_better(double value, string state) =>
        Assert.Equal(state, Kpis.StateOf(value, 0.999, 0.99, higherIsBetter: true));

    [Theory]
    [InlineData(0.01, "green")]
    [InlineData(0.05, "green")]
    [InlineData(0.07, "amber")]
    [InlineData(0.10, "amber")]
    [InlineData(0.11, "red")]
    public void Fallback_rate_is_judged_lower_is_better(double value, string state) =>
        Assert.Equal(state, Kpis.StateOf(value, 0.05, 0.10, higherIsBetter: false));

    [Fact]
    public void No_value_or_no_target_is_none()
    {
        Assert.Equal("none", Kpis.StateOf(null, 0.05, 0.1, higherIsBetter: false));
        Assert.Equal("none", Kpis.StateOf(3.0, null, null, higherIsBetter: false));
    }

    [Fact]
    public void Without_an_amber_bound_past_the_target_is_red() =>
        Assert.Equal("red", Kpis.StateOf(3.01, 3.0, null, higherIsBetter: false));

    [Fact]
    public void Figures_become_the_six_tiles_with_their_values_and_states()
    {
        // 1000 finished, 995 succeeded (99.5 %: amber), 60 of them fell back (6.03 %: amber), MTTR 12 s (green), p95 25 s (red).
        var figures = new KpiFigures(Finished: 1000, Succeeded: 995, FellBack: 60, P95Seconds: 25, Calls: 1200, CostUsd: 1.2345678m, Recoveries: 2, MttrSeconds: 12);

        var kpis = Kpis.From(figures, Targets);

        Assert.Equal(["availability", "fallback_rate", "mttr", "p95", "cost", "cost_saved"], kpis.Select(k => k.Name));
        Assert.Equal((0.995, "amber", 0.999), (Tile(kpis, "availability").Value!.Value, Tile(kpis, "availability").State, Tile(kpis, "availability").Target!.Value));
        Assert.Equal((0.060302, "amber"), (Tile(kpis, "fallback_rate").Value!.Value, Tile(kpis, "fallback_rate").State));
        Assert.Equal((12.0, "green", "s"), (Tile(kpis, "mttr").Value!.Value, Tile(kpis, "mttr").State, Tile(kpis, "mttr").Unit));
        Assert.Equal((25.0, "red"), (Tile(kpis, "p95").Value!.Value, Tile(kpis, "p95").State));
        // No cost target by default: the figure is shown, not judged.
        Assert.Equal((1.234568, "none", (double?)null), (Tile(kpis, "cost").Value!.Value, Tile(kpis, "cost").State, Tile(kpis, "cost").Target));
        Assert.All(kpis, k => Assert.False(string.IsNullOrWhiteSpace(k.Definition)));
    }

    [Fact]
    public void An_empty_window_has_no_values_and_every_state_none()
    {
        var kpis = Kpis.From(new KpiFigures(0, 0, 0, null, 0, 0m, 0, null), Targets);

        Assert.All(kpis, k => Assert.Equal((null, "none"), (k.Value, k.State)));
    }

    [Fact]
    public void A_cost_target_judges_the_cost()
    {
        var targets = new ConsoleTargets { CostUsd = 10m, CostAmberUsd = 20m };

        Assert.Equal("amber", Tile(Kpis.From(new KpiFigures(0, 0, 0, null, 5, 15m, 0, null), targets), "cost").State);
        Assert.Equal("red", Tile(Kpis.From(new KpiFigures(0, 0, 0, null, 5, 25m, 0, null), targets), "cost").State);
    }

    [Fact]
    public void Cost_saved_shows_the_estimate_unjudged_and_none_without_routed_requests()
    {
        var none = Tile(Kpis.From(new KpiFigures(10, 10, 0, 1, 10, 1m, 0, null), Targets), "cost_saved");
        var saved = Tile(Kpis.From(new KpiFigures(10, 10, 0, 1, 10, 1m, 0, null) { CostSavedUsd = 0.4m }, Targets), "cost_saved");

        Assert.Equal((null, "none"), (none.Value, none.State));
        Assert.Equal((0.4, "none", "USD"), (saved.Value, saved.State, saved.Unit));
        Assert.Contains("default chain", saved.Definition, StringComparison.Ordinal);
    }

    [Fact]
    public void Routed_tokens_at_the_baseline_price_minus_their_cost_is_the_saving()
    {
        // 2M input and 1M output tokens: $2.50 + $10 at a $1.25/$10 baseline; they cost $3.
        var routed = new RoutedUsage(Requests: 40, InputTokens: 2_000_000, OutputTokens: 1_000_000, CostUsd: 3m);

        Assert.Equal(9.5m, routed.SavedAgainst(new Worker.Audit.ModelPrice { InputPerMillion = 1.25m, OutputPerMillion = 10m }));
        Assert.Null(routed.SavedAgainst(null));
        Assert.Null(RoutedUsage.None.SavedAgainst(new Worker.Audit.ModelPrice { InputPerMillion = 1m, OutputPerMillion = 1m }));
    }
}
