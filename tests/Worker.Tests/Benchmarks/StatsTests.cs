using Worker.Benchmarks.Reporting;

namespace Worker.Tests.Benchmarks;

/// <summary>The benchmark's statistics (tests/Worker.Benchmarks): the figures in bench/results are only as good as these.</summary>
public sealed class StatsTests
{
    [Theory]
    [InlineData(0, 1.0)]
    [InlineData(50, 2.5)]
    [InlineData(95, 3.85)]
    [InlineData(100, 4.0)]
    public void Percentile_interpolates_between_the_closest_ranks_whatever_the_input_order(double percentile, double expected) =>
        Assert.Equal(expected, Stats.Percentile([4, 1, 3, 2], percentile), 6);

    [Fact]
    public void Percentile_of_nothing_is_not_a_number() => Assert.True(double.IsNaN(Stats.Percentile([], 50)));

    [Fact]
    public void Throughput_counts_from_the_first_completion_to_the_last() =>
        Assert.Equal(2.0, Stats.Throughput([10.0, 11.5, 10.5, 12.0, 11.0]), 6);

    [Fact]
    public void Steady_throughput_leaves_out_a_slow_start_and_a_straggler()
    {
        // A cold start (first result at 0, the next at 10), 99 results 0.01 s apart, then a straggler at 30.
        var times = new List<double> { 0 };
        times.AddRange(Enumerable.Range(0, 99).Select(i => 10 + i * 0.01));
        times.Add(30);

        Assert.Equal(100.0, Stats.Throughput(times, trim: 0.05), 6);
    }

    [Fact]
    public void Recovery_is_where_every_later_window_is_served_by_the_primary_at_the_share()
    {
        // 0..9 on the fallback, then the primary with one straggler at 14 (19 of 20 in every window: 95 %).
        var requests = Enumerable.Range(0, 60).Select(i => (PublishedAt: (double)i, ByPrimary: i >= 10 && i != 14)).ToList();

        Assert.Equal(10.0, Stats.RecoveredAt(requests, share: 0.9, window: 20));
    }

    [Fact]
    public void Recovery_that_does_not_hold_to_the_end_is_no_recovery()
    {
        var requests = Enumerable.Range(0, 60).Select(i => (PublishedAt: (double)i, ByPrimary: i is >= 10 and < 40)).ToList();

        Assert.Null(Stats.RecoveredAt(requests, share: 0.9, window: 20));
    }

    [Theory]
    [InlineData(0.59, ">=", 0.6, false)]
    [InlineData(0.6, ">=", 0.6, true)]
    [InlineData(25.0, "<", 25.0, false)]
    [InlineData(double.NaN, "<=", 1.0, false)]
    public void A_check_is_met_only_by_a_number_on_the_right_side_of_its_target(double value, string comparison, double target, bool met) =>
        Assert.Equal(met, new Check("x", value, comparison, target, "").Met);
}
