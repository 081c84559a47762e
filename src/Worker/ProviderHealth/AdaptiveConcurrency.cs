namespace Worker.ProviderHealth;

/// <summary>
/// How many calls one provider may have in flight on this instance, learnt from its 429s: additive increase,
/// multiplicative decrease (AIMD, as TCP does with its congestion window). A provider that never answers 429 has no
/// limit. A 429 halves the limit (from the calls in flight when none was set), at most once per
/// <see cref="DecreaseInterval"/>, since a burst of 429s answers one overload; each answered call adds 1/limit, so the
/// limit grows by about one per limit's worth of answers; a minute without a 429 lifts it.
/// </summary>
/// <remarks>
/// This is what a 429 does to everyone else's calls: the request that got it waits its Retry-After on its own; the
/// others slow down instead of being sent to the fallback. Because the increase grows with the calls answered, the
/// limit settles where the provider answers, even when its 429s come at random whatever the load.
/// </remarks>
public sealed class AdaptiveConcurrency(TimeProvider time)
{
    /// <summary>A burst of 429s within this long counts as one signal.</summary>
    public static readonly TimeSpan DecreaseInterval = TimeSpan.FromSeconds(1);

    /// <summary>A limit is lifted after this long without a 429.</summary>
    public static readonly TimeSpan LiftAfter = TimeSpan.FromMinutes(1);

    /// <summary>The multiplicative decrease.</summary>
    public const double DecreaseFactor = 0.5;

    private readonly Dictionary<string, Gate> _gates = new(StringComparer.OrdinalIgnoreCase);
    private readonly Lock _lock = new();

    /// <summary>
    /// A slot for one call, waiting up to <paramref name="maxWait"/> for one to free up (first come, first served);
    /// null when none did. The slot must be completed with the call's outcome, or disposed if no call was made.
    /// </summary>
    public async ValueTask<CallSlot?> EnterAsync(string provider, TimeSpan maxWait, CancellationToken cancellationToken)
    {
        TaskCompletionSource waiter;
        lock (_lock)
        {
            var gate = GateOf(provider);
            gate.LiftIfQuiet(time.GetUtcNow());
            if (gate.Waiters.Count == 0 && gate.HasRoom)
            {
                gate.InFlight++;
                return new CallSlot(this, provider);
            }

            if (maxWait <= TimeSpan.Zero)
                return null;
            waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            gate.Waiters.AddLast(waiter);
        }

        try
        {
            await waiter.Task.WaitAsync(maxWait, time, cancellationToken);
            return new CallSlot(this, provider);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            lock (_lock)
            {
                // Granted in the meantime: the slot is ours, hand it on.
                if (!GateOf(provider).Waiters.Remove(waiter))
                    Release(provider, answered: false, throttled: false);
            }

            if (e is OperationCanceledException)
                throw;
            return null;
        }
    }

    /// <summary>The provider's current limit (null: none) and its calls in flight, for the ops view.</summary>
    public (int? Limit, int InFlight) StatusOf(string provider)
    {
        lock (_lock)
        {
            var gate = GateOf(provider);
            gate.LiftIfQuiet(time.GetUtcNow());
            return (gate.Limit is { } limit ? (int)limit : null, gate.InFlight);
        }
    }

    private void Complete(string provider, bool answered, bool throttled)
    {
        lock (_lock)
        {
            Release(provider, answered, throttled);
        }
    }

    /// <summary>Under the lock: frees the slot, adjusts the limit, and lets waiters in while there is room.</summary>
    private void Release(string provider, bool answered, bool throttled)
    {
        var gate = GateOf(provider);
        var now = time.GetUtcNow();
        if (throttled)
        {
            gate.LastThrottledAt = now;
            if (now - gate.LastDecreaseAt >= DecreaseInterval)
            {
                gate.LastDecreaseAt = now;
                gate.Limit = Math.Max(1, (gate.Limit ?? gate.InFlight) * DecreaseFactor);
            }
        }
        else if (answered && gate.Limit is { } limit)
        {
            gate.Limit = limit + 1 / limit;
        }

        gate.InFlight--;
        gate.LiftIfQuiet(now);
        while (gate.Waiters.First is { } next && gate.HasRoom)
        {
            gate.Waiters.RemoveFirst();
            gate.InFlight++;
            next.Value.TrySetResult();
        }
    }

    private Gate GateOf(string provider)
    {
        if (!_gates.TryGetValue(provider, out var gate))
            _gates[provider] = gate = new Gate();
        return gate;
    }

    /// <summary>One call's place under the limit.</summary>
    public sealed class CallSlot(AdaptiveConcurrency owner, string provider) : IDisposable
    {
        private int _done;

        /// <summary>The call ended: an answer grows the limit, a 429 shrinks it, anything else leaves it.</summary>
        public void Complete(bool answered, bool throttled)
        {
            if (Interlocked.Exchange(ref _done, 1) == 0)
                owner.Complete(provider, answered, throttled);
        }

        /// <summary>Frees the slot without an outcome (no call was made), unless <see cref="Complete"/> did.</summary>
        public void Dispose() => Complete(answered: false, throttled: false);
    }

    private sealed class Gate
    {
        /// <summary>Calls allowed in flight; null: no limit (no 429 within <see cref="LiftAfter"/>).</summary>
        public double? Limit { get; set; }

        public int InFlight { get; set; }

        public DateTimeOffset LastDecreaseAt { get; set; } = DateTimeOffset.MinValue;

        public DateTimeOffset LastThrottledAt { get; set; } = DateTimeOffset.MinValue;

        public LinkedList<TaskCompletionSource> Waiters { get; } = new();

        public bool HasRoom => Limit is not { } limit || InFlight < (int)limit;

        public void LiftIfQuiet(DateTimeOffset now)
        {
            if (Limit is not null && now - LastThrottledAt >= LiftAfter)
                Limit = null;
        }
    }
}
