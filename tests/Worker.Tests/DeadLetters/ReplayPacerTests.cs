using Microsoft.Extensions.Time.Testing;
using Worker.DeadLetters;

namespace Worker.Tests.DeadLetters;

public class ReplayPacerTests
{
    [Fact]
    public void Five_per_second_spaces_sends_two_hundred_milliseconds_apart()
    {
        var clock = new FakeTimeProvider();
        var pacer = new ReplayPacer(5, clock);

        var waits = Enumerable.Range(0, 5).Select(_ => pacer.Reserve().TotalMilliseconds).ToList();

        Assert.Equal([0, 200, 400, 600, 800], waits);
    }

    [Fact]
    public void Time_spent_between_sends_counts_toward_the_next_slot()
    {
        var clock = new FakeTimeProvider();
        var pacer = new ReplayPacer(5, clock);
        pacer.Reserve();

        clock.Advance(TimeSpan.FromMilliseconds(150));

        Assert.Equal(TimeSpan.FromMilliseconds(50), pacer.Reserve());
    }

    [Fact]
    public void An_idle_pacer_saves_up_no_slots_so_a_late_start_never_bursts()
    {
        var clock = new FakeTimeProvider();
        var pacer = new ReplayPacer(5, clock);
        pacer.Reserve();

        clock.Advance(TimeSpan.FromMinutes(10));

        Assert.Equal([0, 200, 400], Enumerable.Range(0, 3).Select(_ => pacer.Reserve().TotalMilliseconds));
    }

    [Fact]
    public async Task WaitAsync_completes_only_when_the_clock_reaches_the_slot()
    {
        var clock = new FakeTimeProvider();
        var pacer = new ReplayPacer(2, clock);
        await pacer.WaitAsync(CancellationToken.None);

        var second = pacer.WaitAsync(CancellationToken.None);
        clock.Advance(TimeSpan.FromMilliseconds(499));
        Assert.False(second.IsCompleted);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        await second.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void A_fractional_rate_waits_seconds()
    {
        var pacer = new ReplayPacer(0.5, new FakeTimeProvider());
        pacer.Reserve();
        Assert.Equal(TimeSpan.FromSeconds(2), pacer.Reserve());
    }
}
