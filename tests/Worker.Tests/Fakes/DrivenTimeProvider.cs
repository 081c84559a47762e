using System.Diagnostics;
using Microsoft.Extensions.Time.Testing;

namespace Worker.Tests.Fakes;

/// <summary>
/// A <see cref="FakeTimeProvider"/> that also knows when each of its live timers is due (FakeTimeProvider keeps that
/// private), so <see cref="Drive{T}"/> can run code that waits (Task.Delay, timeouts) by moving the clock to each wait.
/// Firing and the clock itself are FakeTimeProvider's.
/// </summary>
/// <remarks>
/// Timers come in two kinds. A wait (Task.Delay) is armed by code that has nothing else to do until it fires, so once
/// one is armed the code is idle and the clock may move. A guard (a cancellation token source's timeout, armed around a
/// call) says nothing of the sort: the code it guards may still be running (parsing a 429 on a loaded machine), and
/// moving the clock to the guard then would fire a timeout that never happens in real life. So the clock moves to a
/// guard only while a wait is armed as well, or while a fake call is blocked in <see cref="BlockUntilCancelledAsync"/>:
/// the conditions under which the code can be waiting for nothing but time.
/// </remarks>
public sealed class DrivenTimeProvider : FakeTimeProvider
{
    private readonly Lock _gate = new();
    private readonly HashSet<TrackedTimer> _timers = [];
    private int _blocked;

    /// <summary>
    /// What a fake provider that hangs awaits: it returns only when <paramref name="cancellationToken"/> is cancelled,
    /// and while it waits the driver knows that the code is blocked, so a guard timer may fire.
    /// </summary>
    public async Task BlockUntilCancelledAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _blocked);
        try
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
        }
        finally
        {
            Interlocked.Decrement(ref _blocked);
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new TrackedTimer(this, IsGuard: state is CancellationTokenSource);
        timer.Schedule(dueTime, period);
        // A zero due time fires inside base.CreateTimer: the tracking is set up before.
        timer.Inner = base.CreateTimer(s =>
        {
            timer.Fired();
            callback(s);
        }, state, dueTime, period);
        return timer;
    }

    /// <summary>When the clock would move to next, or null while the code may still be running.</summary>
    public DateTimeOffset? NextJump() => Earliest()?.Due;

    private TrackedTimer? Earliest()
    {
        lock (_gate)
        {
            var armed = _timers.Where(t => t.Due is not null).ToList();
            var idle = Volatile.Read(ref _blocked) > 0 || armed.Any(t => !t.IsGuard);
            return idle ? armed.MinBy(t => t.Due) : null;
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
        TrackedTimer? candidate = null;
        var stable = 0;
        var since = Stopwatch.StartNew();
        var total = Stopwatch.StartNew();
        while (!task.IsCompleted)
        {
            if (total.Elapsed > TimeSpan.FromMinutes(1))
            {
                throw new TimeoutException("The task neither completed nor waited on a timer (a fake call that hangs must await BlockUntilCancelledAsync).");
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
                var now = GetUtcNow();
                if (due > now)
                {
                    Advance(due - now);
                }

                stable = 0;
            }
            else
            {
                await Task.Yield();
            }
        }

        return await task;
    }

    private sealed class TrackedTimer(DrivenTimeProvider owner, bool IsGuard) : ITimer
    {
        /// <summary>A cancellation token source's timeout rather than a wait.</summary>
        public bool IsGuard { get; } = IsGuard;

        public ITimer? Inner { get; set; }

        /// <summary>Guarded by the owner's gate.</summary>
        public DateTimeOffset? Due { get; private set; }

        private TimeSpan _period;
        private bool _disposed;

        public void Schedule(TimeSpan dueTime, TimeSpan period)
        {
            var now = owner.GetUtcNow();
            lock (owner._gate)
            {
                if (_disposed)
                    return;
                Due = dueTime == Timeout.InfiniteTimeSpan ? null : now + dueTime;
                _period = period == Timeout.InfiniteTimeSpan ? TimeSpan.Zero : period;
                owner._timers.Add(this);
            }
        }

        public void Fired()
        {
            lock (owner._gate)
            {
                Due = _period > TimeSpan.Zero ? Due + _period : null;
            }
        }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            Schedule(dueTime, period);
            return Inner?.Change(dueTime, period) ?? false;
        }

        public void Dispose()
        {
            lock (owner._gate)
            {
                _disposed = true;
                owner._timers.Remove(this);
            }

            Inner?.Dispose();
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
