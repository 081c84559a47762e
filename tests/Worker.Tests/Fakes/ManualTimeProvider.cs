using System.Diagnostics;

namespace Worker.Tests.Fakes;

/// <summary>
/// A TimeProvider whose clock only moves when a test says so. Timers (Task.Delay, CancellationTokenSource
/// timeouts) fire as the clock passes their due time, so backoff and timeout tests never sleep.
/// </summary>
public sealed class ManualTimeProvider(DateTimeOffset? start = null) : TimeProvider
{
    private readonly Lock _gate = new();
    private readonly List<ManualTimer> _timers = [];
    private DateTimeOffset _now = start ?? new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    public override DateTimeOffset GetUtcNow()
    {
        lock (_gate)
        {
            return _now;
        }
    }

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => GetUtcNow().UtcTicks;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ManualTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    private ManualTimer? Earliest()
    {
        lock (_gate)
        {
            return _timers.Where(t => t.Due is not null).MinBy(t => t.Due);
        }
    }

    public void Advance(TimeSpan by)
    {
        DateTimeOffset target;
        lock (_gate)
        {
            target = _now + by;
        }

        // Fire timers in due order, moving the clock to each one's due time first.
        while (true)
        {
            ManualTimer? next;
            lock (_gate)
            {
                next = _timers.Where(t => t.Due is { } due && due <= target).MinBy(t => t.Due);
                if (next is null)
                {
                    _now = target;
                    return;
                }

                _now = next.Due!.Value;
                next.Due = next.Period is { } p && p > TimeSpan.Zero ? _now + p : null;
            }

            next.Fire();
        }
    }

    /// <summary>
    /// Runs <paramref name="task"/> to completion, advancing the clock to each timer it waits on. A timer must stay
    /// the earliest one across many yields before the clock jumps to it: a continuation running on another thread
    /// may arm and dispose a short-lived timer (an attempt timeout around a call that answers at once), and that
    /// one must not be mistaken for a wait.
    /// </summary>
    public async Task<T> Drive<T>(Task<T> task)
    {
        const int settleYields = 50;
        // Yields alone are not enough on a loaded machine (the suite runs both test projects at once): the continuation
        // that disposes a short-lived timer may not have run after 50 yields. The candidate must also have been the
        // earliest for this long in real time.
        var settleTime = TimeSpan.FromMilliseconds(20);
        ManualTimer? candidate = null;
        var stable = 0;
        var since = Stopwatch.StartNew();
        var total = Stopwatch.StartNew();
        while (!task.IsCompleted)
        {
            if (total.Elapsed > TimeSpan.FromMinutes(1))
            {
                throw new TimeoutException("The task neither completed nor waited on a timer.");
            }

            var earliest = Earliest();
            stable = earliest is not null && ReferenceEquals(earliest, candidate) ? stable + 1 : 0;
            if (stable == 0)
            {
                since.Restart();
            }

            candidate = earliest;
            if (earliest?.Due is { } due && stable >= settleYields && since.Elapsed >= settleTime)
            {
                Advance(due - GetUtcNow());
                stable = 0;
            }
            else
            {
                await Task.Yield();
            }
        }

        return await task;
    }

    private sealed class ManualTimer(ManualTimeProvider owner, TimerCallback callback, object? state) : ITimer
    {
        public DateTimeOffset? Due { get; set; }

        public TimeSpan? Period { get; private set; }

        public void Fire() => callback(state);

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (owner._gate)
            {
                if (!owner._timers.Contains(this))
                {
                    owner._timers.Add(this);
                }

                Due = dueTime == Timeout.InfiniteTimeSpan ? null : owner._now + dueTime;
                Period = period == Timeout.InfiniteTimeSpan ? null : period;
            }

            return true;
        }

        public void Dispose()
        {
            lock (owner._gate)
            {
                owner._timers.Remove(this);
            }
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
