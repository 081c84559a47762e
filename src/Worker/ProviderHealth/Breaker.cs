using Polly.CircuitBreaker;
using Worker.Persistence;
using Worker.Providers;

namespace Worker.ProviderHealth;

/// <summary>
/// The breaker of one provider and model: a small state machine under one lock, on the injected clock.
/// <list type="bullet">
/// <item>Closed: calls run. A sliding window of <c>SamplingDuration</c> counts them and the failures that say the
/// provider is down (<see cref="CircuitBreakers.SaysProviderDown"/>); every other outcome is a call that did not fail.
/// It opens once the window holds <c>MinimumThroughput</c> calls of which <c>FailureRatio</c> failed, or whose last
/// <c>MinimumThroughput</c> failed in a row (an outage starting under traffic, while older successes still fill the window).</item>
/// <item>Open: calls are refused for <c>BreakDuration</c>; then it is half-open: up to <c>HalfOpenTrials</c> trial calls
/// run at once. The first trial the provider answers closes it with a fresh window; it re-opens for another
/// <c>BreakDuration</c> only when all of them failed. While every trial slot is taken further calls are refused.</item>
/// <item>Held after a rejected call (auth): refused for <c>AuthBreakDuration</c>, then one trial call.</item>
/// <item>Isolated by failed pings: refused until a ping succeeds. A successful ping closes it from any state.</item>
/// </list>
/// A last-chance call (the chain has nothing else left) may run as an early trial while it is open or held, at most one
/// at a time and not within <see cref="CircuitBreakers.HalfOpenProbeWait"/> of a failed trial; never while isolated.
/// <para>
/// Not Polly's breaker: Polly v8 lets exactly one probe through when half-open and re-opens on its failure
/// (Polly.Core <c>CircuitStateController.OnActionPreExecuteAsync</c> refuses every call made while half-open but the
/// one that moved it there, and <c>OnActionFailureAsync</c> re-opens from half-open on any handled failure), so one
/// unlucky call re-opened it for another break. Polly's <see cref="CircuitState"/> stays the vocabulary.
/// </para>
/// </summary>
internal sealed class Breaker(string provider, string model, ProviderHealthOptions settings, TimeProvider time, ILogger logger, BreakerEventLog? events)
{
    private enum Phase
    {
        Closed,
        Open,
        AuthHeld,
        Isolated,
    }

    /// <summary>What a call was admitted as, and in which phase: its result only counts if that phase still holds.</summary>
    internal readonly record struct Ticket(long Phase, bool Trial);

    private readonly Lock _gate = new();
    private readonly FailureWindow _window = new(settings.SamplingDuration);
    private Phase _phase = Phase.Closed;

    /// <summary>Changes with every phase: results of calls admitted before belong to another phase and are dropped.</summary>
    private long _phaseNumber;

    /// <summary>Open or held: when trials may run.</summary>
    private DateTimeOffset _breakUntil;

    private int _trialsInFlight;
    private int _trialsFailed;
    private bool _trialsAnnounced;
    private DateTimeOffset _lastTrialFailedAt = DateTimeOffset.MinValue;
    private int _pingFailuresInARow;
    private DateTimeOffset? _openSince;

    /// <summary>After an auth hold one trial decides (a bad key stays bad); after an opening, several.</summary>
    private int TrialSlots => _phase == Phase.AuthHeld ? 1 : settings.HalfOpenTrials;

    private int FreeTrialSlots => TrialSlots - _trialsInFlight - _trialsFailed;

    /// <summary>The call may run (and as what), or null: refused.</summary>
    public Ticket? Admit(bool lastChance)
    {
        lock (_gate)
        {
            var now = time.GetUtcNow();
            switch (_phase)
            {
                case Phase.Closed:
                    return new Ticket(_phaseNumber, Trial: false);
                case Phase.Isolated:
                    return null;
            }

            if (now >= _breakUntil)
            {
                if (FreeTrialSlots <= 0)
                    return null;
                if (!_trialsAnnounced)
                    Log.BreakerHalfOpen(logger, provider, model, TrialSlots);
                _trialsAnnounced = true;
            }
            else if (!lastChance || _trialsInFlight > 0 || now - _lastTrialFailedAt < CircuitBreakers.HalfOpenProbeWait)
            {
                return null;
            }
            else
            {
                Log.BreakerLastChance(logger, provider, model);
            }

            _trialsInFlight++;
            return new Ticket(_phaseNumber, Trial: true);
        }
    }

    /// <summary>The call threw (cancelled): it says nothing, its trial slot is free again.</summary>
    public void Abandon(Ticket ticket)
    {
        lock (_gate)
        {
            if (ticket.Trial && ticket.Phase == _phaseNumber)
                _trialsInFlight--;
        }
    }

    public void Complete(Ticket ticket, ProviderResult result)
    {
        lock (_gate)
        {
            var now = time.GetUtcNow();
            var failure = result as ProviderFailure;
            if (failure?.Class == ErrorClass.Auth)
            {
                // A gateway may reject one prompt, not the key: held for a bounded time, not until a ping.
                if (ticket.Trial)
                    _lastTrialFailedAt = now;
                HoldForAuth(now, ticket.Trial ? "the trial call was rejected again" : "authentication failed");
                return;
            }

            if (ticket.Phase != _phaseNumber)
                return;

            // A live answer is as good as a successful ping: the failed pings before it are no longer "in a row".
            if (result is ProviderSuccess)
                _pingFailuresInARow = 0;
            var down = failure is not null && CircuitBreakers.SaysProviderDown(failure.Class);
            if (!ticket.Trial)
            {
                _window.Add(now, down);
                if (down && _window.Evidence(settings.MinimumThroughput, settings.FailureRatio) is { } why)
                    Open(now, why);
                return;
            }

            _trialsInFlight--;
            if (!down)
            {
                Close();
                Log.BreakerClosed(logger, provider, model);
                return;
            }

            _trialsFailed++;
            _lastTrialFailedAt = now;
            Log.BreakerTrialFailed(logger, provider, model, _trialsFailed, TrialSlots, failure!.Class.ToWireName());
            if (_trialsFailed < TrialSlots)
                return;
            if (_phase == Phase.Open)
            {
                Open(now, $"{TrialSlots} trial call(s) failed");
                return;
            }

            // Held after a rejected call: held on, for a break from now, but never shorter than the hold already was
            // (an early, last-chance trial must not cut it short).
            var until = now + settings.BreakDuration > _breakUntil ? now + settings.BreakDuration : _breakUntil;
            NewPhase(Phase.AuthHeld);
            _breakUntil = until;
            Log.BreakerAuthBreak(logger, provider, model, (until - now).TotalSeconds, $"the trial call failed ({failure.Class.ToWireName()})");
        }
    }

    public void PingSucceeded()
    {
        lock (_gate)
        {
            _pingFailuresInARow = 0;
            if (_phase == Phase.Closed)
                return;
            Close();
            Log.BreakerClosedByPing(logger, provider, model);
        }
    }

    /// <summary>
    /// After enough failed pings in a row (or at once for a rejected key), held open until a ping succeeds. A live call
    /// answered in between breaks the row: pings catch an outage under low traffic, and a provider that answers live
    /// traffic is not down, however its pings fared (two failed pings in a row are 1 in 25 at 20 % errors).
    /// </summary>
    public void PingFailed(ErrorClass errorClass)
    {
        lock (_gate)
        {
            _pingFailuresInARow++;
            if ((errorClass != ErrorClass.Auth && _pingFailuresInARow < settings.PingFailuresToIsolate) || _phase == Phase.Isolated)
                return;
            NewPhase(Phase.Isolated);
            MarkOpen(BreakerTransition.Isolated);
            Log.BreakerIsolated(logger, provider, model, $"{_pingFailuresInARow} ping(s) failed ({errorClass.ToWireName()})");
        }
    }

    /// <summary>An auth break whose time is up, or an opening whose break is over, is half-open.</summary>
    public (CircuitState State, DateTimeOffset? OpenSince) Status()
    {
        lock (_gate)
        {
            var state = _phase switch
            {
                Phase.Closed => CircuitState.Closed,
                Phase.Isolated => CircuitState.Isolated,
                _ when time.GetUtcNow() >= _breakUntil => CircuitState.HalfOpen,
                Phase.Open => CircuitState.Open,
                _ => CircuitState.Isolated,
            };
            return (state, _openSince);
        }
    }

    /// <summary>See <see cref="CircuitBreakers.UnavailableUntil"/>; <paramref name="nextPingLands"/> is null when pings are off.</summary>
    public DateTimeOffset? UnavailableUntil(DateTimeOffset now, DateTimeOffset? nextPingLands)
    {
        lock (_gate)
        {
            return _phase switch
            {
                Phase.Closed => null,
                Phase.Isolated => nextPingLands ?? now + settings.BreakDuration,
                _ when now >= _breakUntil => FreeTrialSlots > 0 ? null : now + CircuitBreakers.HalfOpenProbeWait,
                Phase.Open => _breakUntil,
                _ => nextPingLands is { } ping && ping < _breakUntil ? ping : _breakUntil,
            };
        }
    }

    private void Open(DateTimeOffset now, string why)
    {
        NewPhase(Phase.Open);
        _breakUntil = now + settings.BreakDuration;
        MarkOpen(BreakerTransition.Opened);
        Log.BreakerOpened(logger, provider, model, settings.BreakDuration.TotalSeconds, why);
    }

    /// <summary>Held for AuthBreakDuration, then one trial. A breaker isolated by failed pings stays so.</summary>
    private void HoldForAuth(DateTimeOffset now, string why)
    {
        if (_phase == Phase.Isolated)
            return;
        NewPhase(Phase.AuthHeld);
        _breakUntil = now + settings.AuthBreakDuration;
        MarkOpen(BreakerTransition.Isolated);
        Log.BreakerAuthBreak(logger, provider, model, settings.AuthBreakDuration.TotalSeconds, why);
    }

    private void Close()
    {
        NewPhase(Phase.Closed);
        _openSince = null;
        events?.Record(provider, model, BreakerTransition.Closed);
    }

    private void NewPhase(Phase phase)
    {
        _phase = phase;
        _phaseNumber++;
        _trialsInFlight = 0;
        _trialsFailed = 0;
        _trialsAnnounced = false;
        _window.Clear();
    }

    /// <summary>Records an opening: one per outage, so re-opening, holding or isolating an open breaker is not another.</summary>
    private void MarkOpen(string transition)
    {
        if (_openSince is not null)
            return;
        _openSince = time.GetUtcNow();
        events?.Record(provider, model, transition);
    }

    /// <summary>
    /// Calls and down-failures of the last SamplingDuration in ten buckets, so a call drops out between 0.9 and 1
    /// SamplingDuration after it ended; and the failures since the last call that did not fail.
    /// </summary>
    private sealed class FailureWindow(TimeSpan length)
    {
        private readonly TimeSpan _bucketLength = length / 10;
        private readonly Queue<Bucket> _buckets = new();
        private Bucket? _newest;
        private int _calls;
        private int _failures;
        private int _failuresInARow;

        public void Add(DateTimeOffset now, bool failed)
        {
            while (_buckets.TryPeek(out var oldest) && now - oldest.Start >= length)
            {
                _buckets.Dequeue();
                _calls -= oldest.Calls;
                _failures -= oldest.Failures;
            }

            if (_newest is null || _buckets.Count == 0 || now - _newest.Start >= _bucketLength)
            {
                _newest = new Bucket(now);
                _buckets.Enqueue(_newest);
            }

            _newest.Calls++;
            _calls++;
            if (failed)
            {
                _newest.Failures++;
                _failures++;
                _failuresInARow++;
            }
            else
            {
                _failuresInARow = 0;
            }
        }

        /// <summary>Why the window says the provider is down, or null when it does not.</summary>
        public string? Evidence(int minimumCalls, double failureRatio)
        {
            // Failures in a row that dropped out of the window no longer count: when the call before them has dropped
            // out too, every call left in the window is one of them.
            var inARow = Math.Min(_failuresInARow, _failures);
            if (_calls < minimumCalls)
                return null;
            if ((double)_failures / _calls >= failureRatio)
                return $"{_failures} of the last {_calls} calls failed";
            return inARow >= minimumCalls ? $"the last {inARow} calls failed in a row" : null;
        }

        public void Clear()
        {
            _buckets.Clear();
            _newest = null;
            _calls = _failures = _failuresInARow = 0;
        }

        private sealed class Bucket(DateTimeOffset start)
        {
            public DateTimeOffset Start { get; } = start;

            public int Calls { get; set; }

            public int Failures { get; set; }
        }
    }
}
