using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Worker.Contracts;
using Worker.Messaging;

namespace Worker.Tests.Messaging;

/// <summary>The shedding decision on a fake clock: which limit sheds, and what never does.</summary>
public class LoadShedderTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _clock = new(Start);

    private LoadShedder Shedder(int depth = 0, int ageSeconds = 0) =>
        new(Options.Create(new SheddingOptions { MaxQueueDepth = depth, MaxQueueAgeSeconds = ageSeconds, ProbeInterval = TimeSpan.FromSeconds(5) }), _clock);

    private static CompletionRequested Request(bool sheddable = true) =>
        new(Guid.NewGuid(), null, [new ChatMessage(ChatRoles.User, "look ahead")], Sheddable: sheddable);

    [Fact]
    public void Off_by_default_nothing_is_shed_however_deep_or_old_the_backlog()
    {
        var shedder = Shedder();
        shedder.Observe(1_000_000);

        Assert.Null(shedder.Decide(Request(), Start - TimeSpan.FromDays(1)));
    }

    [Fact]
    public void At_the_depth_limit_a_sheddable_request_is_shed_and_below_it_runs()
    {
        var shedder = Shedder(depth: 100);

        shedder.Observe(99);
        Assert.Null(shedder.Decide(Request(), Start));
        shedder.Observe(100);
        var shed = shedder.Decide(Request(), Start);

        Assert.Equal(LoadShedder.DepthTrigger, shed?.Trigger);
        Assert.Contains("held 100 waiting requests (Shedding:MaxQueueDepth is 100)", shed!.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_request_that_is_not_sheddable_is_never_shed()
    {
        var shedder = Shedder(depth: 1, ageSeconds: 1);
        shedder.Observe(10_000);

        Assert.Null(shedder.Decide(Request(sheddable: false), Start - TimeSpan.FromHours(1)));
    }

    [Fact]
    public void A_depth_sample_older_than_three_probe_intervals_sheds_nothing()
    {
        var shedder = Shedder(depth: 10);
        shedder.Observe(500);

        _clock.Advance(TimeSpan.FromSeconds(15));
        Assert.NotNull(shedder.Decide(Request(), Start));
        _clock.Advance(TimeSpan.FromTicks(1));
        Assert.Null(shedder.Decide(Request(), Start));
    }

    [Fact]
    public void Before_the_first_depth_sample_nothing_is_shed_by_depth() =>
        Assert.Null(Shedder(depth: 1).Decide(Request(), Start));

    [Fact]
    public void A_request_that_waited_the_age_limit_is_shed_and_a_younger_one_runs()
    {
        var shedder = Shedder(ageSeconds: 30);
        _clock.Advance(TimeSpan.FromSeconds(30));

        Assert.Null(shedder.Decide(Request(), Start + TimeSpan.FromTicks(1)));
        var shed = shedder.Decide(Request(), Start);

        Assert.Equal(LoadShedder.AgeTrigger, shed?.Trigger);
        Assert.Contains("waited 30 s in the queue (Shedding:MaxQueueAgeSeconds is 30)", shed!.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_a_sent_time_the_age_limit_does_not_apply() =>
        Assert.Null(Shedder(ageSeconds: 1).Decide(Request(), sentAt: null));
}
