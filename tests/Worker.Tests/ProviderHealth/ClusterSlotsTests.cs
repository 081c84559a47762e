using Worker.ProviderHealth;

namespace Worker.Tests.ProviderHealth;

/// <summary>Slot arithmetic: every instance must derive the same slot for the same scheduled instant.</summary>
public class ClusterSlotsTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData(0, 0)]
    [InlineData(29_999, 0)]
    [InlineData(30_000, 1)]
    [InlineData(1_764_000_015_000, 58_800_000)]
    public void Slot_is_epoch_over_interval_rounded_down(long epochMs, long slot) =>
        Assert.Equal(slot, ClusterSlots.SlotOf(DateTimeOffset.FromUnixTimeMilliseconds(epochMs), Interval));

    [Fact]
    public void Instances_firing_late_within_the_interval_share_the_slot()
    {
        var boundary = DateTimeOffset.FromUnixTimeSeconds(1_764_000_000);
        Assert.Equal(ClusterSlots.SlotOf(boundary, Interval), ClusterSlots.SlotOf(boundary.AddSeconds(29.9), Interval));
        Assert.NotEqual(ClusterSlots.SlotOf(boundary, Interval), ClusterSlots.SlotOf(boundary.AddSeconds(30), Interval));
    }

    [Fact]
    public void Triggers_start_on_the_next_boundary_so_instances_started_apart_fire_together()
    {
        var boundary = DateTimeOffset.FromUnixTimeSeconds(1_764_000_000);
        Assert.Equal(boundary, ClusterSlots.NextBoundary(boundary, Interval));
        Assert.Equal(boundary.AddSeconds(30), ClusterSlots.NextBoundary(boundary.AddMilliseconds(1), Interval));
        Assert.Equal(boundary.AddSeconds(30), ClusterSlots.NextBoundary(boundary.AddSeconds(29.5), Interval));
    }

    [Fact]
    public void Job_names_say_what_and_whom() =>
        Assert.Equal("ping:gemini/gemini-2.5-pro", ClusterSlots.PingJob("gemini", "gemini-2.5-pro"));
}
