namespace Worker.DeadLetters;

/// <summary>
/// Spaces replays evenly at a fixed rate: each call reserves the next slot and says how long to wait for it. An idle
/// pacer does not save up slots, so a replay that starts late never sends a burst.
/// </summary>
public sealed class ReplayPacer(double perSecond, TimeProvider time)
{
    private readonly TimeSpan _interval = TimeSpan.FromSeconds(1 / perSecond);
    private DateTimeOffset? _next;

    /// <summary>Reserves the next slot; the wait is zero when it is now.</summary>
    public TimeSpan Reserve()
    {
        var now = time.GetUtcNow();
        var slot = _next is { } next && next > now ? next : now;
        _next = slot + _interval;
        return slot - now;
    }

    /// <summary>Waits for the next slot.</summary>
    public Task WaitAsync(CancellationToken cancellationToken)
    {
        var wait = Reserve();
        return wait > TimeSpan.Zero ? Task.Delay(wait, time, cancellationToken) : Task.CompletedTask;
    }
}
