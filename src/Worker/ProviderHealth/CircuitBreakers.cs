using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Worker.Persistence;
using Worker.Providers;

namespace Worker.ProviderHealth;

/// <summary>
/// One Polly circuit breaker per provider and model. Live calls run through it and open it when a provider keeps
/// failing; pings isolate it (held open) after repeated failures and close it on success, so traffic returns to the
/// primary without a live request having to risk it. A rejected call (auth) holds it open for AuthBreakDuration, then
/// one live request tries it. While a breaker is open the chain skips that step at once.
/// Openings and closings go to <paramref name="events"/> (table breaker_events), where flapping is counted.
/// </summary>
public sealed class CircuitBreakers(
    IOptions<ProviderHealthOptions> options,
    TimeProvider time,
    ILogger<CircuitBreakers> logger,
    BreakerEventLog? events = null)
{
    private readonly ConcurrentDictionary<(string Provider, string Model), Breaker> _breakers = new();

    /// <summary>Failures that say the provider itself is unwell. Rate limits (paced separately), blocked content and
    /// invalid requests say nothing about its health.</summary>
    public static bool CountsAgainstProvider(ErrorClass errorClass) =>
        errorClass is ErrorClass.Server or ErrorClass.Network or ErrorClass.Timeout or ErrorClass.BadOutput or ErrorClass.Auth;

    /// <summary>Runs <paramref name="call"/> through the breaker; null when the breaker refused (open or isolated).</summary>
    public async Task<ProviderResult?> ExecuteAsync(string provider, string model, Func<CancellationToken, Task<ProviderResult>> call, CancellationToken cancellationToken, bool lastChance = false)
    {
        var breaker = Get(provider, model);
        switch (TakeAuthBreakTurn(breaker))
        {
            case AuthBreakTurn.Refused:
                return null;
            case AuthBreakTurn.Trial:
                return await AuthBreakTrialAsync(breaker, provider, model, call, cancellationToken);
        }

        try
        {
            var result = await breaker.Pipeline.ExecuteAsync(async ct => await call(ct), cancellationToken);
            if (result is ProviderFailure { Class: ErrorClass.Auth })
            {
                // A gateway may reject one prompt, not the key: hold the breaker open for a bounded time, not until a ping.
                await HoldOpenAsync(breaker, provider, model, options.Value.AuthBreakDuration, "authentication failed", renewOnly: false);
            }

            return result;
        }
        catch (BrokenCircuitException)
        {
            return null;
        }
    }

    public CircuitState StateOf(string provider, string model) => StateOf(Get(provider, model));

    /// <summary>The breaker's state, and since when it has been open (open, isolated or half-open) if it is.</summary>
    public (CircuitState State, DateTimeOffset? OpenSince) StatusOf(string provider, string model)
    {
        var breaker = Get(provider, model);
        lock (breaker)
        {
            return (StateOf(breaker), breaker.OpenSince);
        }
    }

    /// <summary>An auth break whose time is up is half-open: Polly still holds it isolated, the next call is its trial.</summary>
    private CircuitState StateOf(Breaker breaker)
    {
        var state = breaker.State.CircuitState;
        lock (breaker)
        {
            return state == CircuitState.Isolated && breaker.AuthBreakUntil is { } until && time.GetUtcNow() >= until
                ? CircuitState.HalfOpen
                : state;
        }
    }

    /// <summary>
    /// When the step may be callable again, or null when it may be called now. Open: when the break ends (the next call
    /// is then the half-open probe). Half-open: a probe is in flight, look again shortly. Isolated by a rejected call: when
    /// its break ends (or the next ping lands, if sooner). Isolated by pings: after the next ping has had time to land.
    /// </summary>
    public DateTimeOffset? UnavailableUntil(string provider, string model)
    {
        var settings = options.Value;
        var breaker = Get(provider, model);
        var now = time.GetUtcNow();
        DateTimeOffset? lastOpened, authBreakUntil;
        bool trialInFlight;
        lock (breaker)
        {
            lastOpened = breaker.LastOpenedAt;
            authBreakUntil = breaker.AuthBreakUntil;
            trialInFlight = breaker.AuthTrialInFlight;
        }

        var pingsOn = settings.PingInterval > TimeSpan.Zero;
        var nextPingLands = pingsOn ? ClusterSlots.NextBoundary(now, settings.PingInterval) + settings.PingTimeout + settings.SyncInterval : now;
        return breaker.State.CircuitState switch
        {
            CircuitState.Open => Later(now, (lastOpened ?? now) + settings.BreakDuration),
            CircuitState.HalfOpen => now + HalfOpenProbeWait,
            CircuitState.Isolated when authBreakUntil is { } until && until > now => pingsOn ? Earlier(until, nextPingLands) : until,
            CircuitState.Isolated when authBreakUntil is not null => trialInFlight ? now + HalfOpenProbeWait : null,
            CircuitState.Isolated when pingsOn => nextPingLands,
            CircuitState.Isolated => now + settings.BreakDuration,
            _ => null,
        };

        static DateTimeOffset Later(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;
        static DateTimeOffset Earlier(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;
    }

    /// <summary>How long to wait for a half-open probe before looking at the breaker again.</summary>
    internal static readonly TimeSpan HalfOpenProbeWait = TimeSpan.FromSeconds(2);

    /// <summary>Every breaker created so far, for the ops view.</summary>
    public IEnumerable<(string Provider, string Model, CircuitState State)> All() =>
        _breakers.Select(b => (b.Key.Provider, b.Key.Model, StateOf(b.Value)));

    /// <summary>A ping succeeded: close the breaker (if it was not already) so the next request goes to this provider.</summary>
    public async Task PingSucceededAsync(string provider, string model)
    {
        var breaker = Get(provider, model);
        Interlocked.Exchange(ref breaker.ConsecutivePingFailures, 0);
        lock (breaker)
        {
            breaker.AuthBreakUntil = null;
        }

        if (breaker.State.CircuitState != CircuitState.Closed)
        {
            await breaker.Control.CloseAsync();
            Log.BreakerClosedByPing(logger, provider, model);
        }
    }

    /// <summary>A ping failed: after enough of them in a row (or at once for a rejected key), hold the breaker open.</summary>
    public async Task PingFailedAsync(string provider, string model, ErrorClass errorClass)
    {
        var breaker = Get(provider, model);
        var failures = Interlocked.Increment(ref breaker.ConsecutivePingFailures);
        if (errorClass == ErrorClass.Auth || failures >= options.Value.PingFailuresToIsolate)
        {
            await IsolateAsync(provider, model, $"{failures} ping(s) failed ({errorClass.ToWireName()})");
        }
    }

    /// <summary>Held open until a ping succeeds: pings are on, so one will.</summary>
    private async Task IsolateAsync(string provider, string model, string why)
    {
        var breaker = Get(provider, model);
        bool wasAuthBreak;
        lock (breaker)
        {
            wasAuthBreak = breaker.AuthBreakUntil is not null;
            breaker.AuthBreakUntil = null;
        }

        var isolated = breaker.State.CircuitState == CircuitState.Isolated;
        if (!isolated)
            await breaker.Control.IsolateAsync();
        if (!isolated || wasAuthBreak)
            Log.BreakerIsolated(logger, provider, model, why);
    }

    /// <summary>
    /// Held open for <paramref name="duration"/>, then the next call is a trial. A breaker held by failed pings stays so;
    /// with <paramref name="renewOnly"/> only a break still running is extended.
    /// </summary>
    private async Task HoldOpenAsync(Breaker breaker, string provider, string model, TimeSpan duration, string why, bool renewOnly)
    {
        lock (breaker)
        {
            var heldByPings = breaker.State.CircuitState == CircuitState.Isolated && breaker.AuthBreakUntil is null;
            if (heldByPings || (renewOnly && breaker.AuthBreakUntil is null))
                return;
            breaker.AuthBreakUntil = time.GetUtcNow() + duration;
        }

        if (breaker.State.CircuitState != CircuitState.Isolated)
            await breaker.Control.IsolateAsync();
        Log.BreakerAuthBreak(logger, provider, model, duration.TotalSeconds, why);
    }

    private enum AuthBreakTurn { None, Refused, Trial }

    private AuthBreakTurn TakeAuthBreakTurn(Breaker breaker)
    {
        lock (breaker)
        {
            if (breaker.AuthBreakUntil is not { } until)
                return AuthBreakTurn.None;
            if (time.GetUtcNow() < until || breaker.AuthTrialInFlight)
                return AuthBreakTurn.Refused;
            breaker.AuthTrialInFlight = true;
            return AuthBreakTurn.Trial;
        }
    }

    /// <summary>
    /// The one call after an auth break, made past the isolated Polly breaker: an answer (or a failure that says nothing
    /// about the provider) closes the breaker, a failure that counts against it holds it open for another break.
    /// </summary>
    private async Task<ProviderResult> AuthBreakTrialAsync(
        Breaker breaker, string provider, string model, Func<CancellationToken, Task<ProviderResult>> call, CancellationToken cancellationToken)
    {
        Log.BreakerHalfOpen(logger, provider, model);
        ProviderResult result;
        try
        {
            result = await call(cancellationToken);
        }
        finally
        {
            lock (breaker)
            {
                breaker.AuthTrialInFlight = false;
            }
        }

        if (result is ProviderFailure failure && CountsAgainstProvider(failure.Class))
        {
            var auth = failure.Class == ErrorClass.Auth;
            await HoldOpenAsync(breaker, provider, model, auth ? options.Value.AuthBreakDuration : options.Value.BreakDuration,
                $"the trial after an auth break failed ({failure.Class.ToWireName()})", renewOnly: !auth);
            return result;
        }

        bool stillHeld;
        lock (breaker)
        {
            stillHeld = breaker.AuthBreakUntil is not null;
            breaker.AuthBreakUntil = null;
        }

        if (stillHeld && breaker.State.CircuitState != CircuitState.Closed)
            await breaker.Control.CloseAsync();
        return result;
    }

    private Breaker Get(string provider, string model) => _breakers.GetOrAdd((provider, model), key => Create(key.Provider, key.Model));

    private Breaker Create(string provider, string model)
    {
        var settings = options.Value;
        var breaker = new Breaker(new CircuitBreakerManualControl(), new CircuitBreakerStateProvider());
        breaker.Pipeline = new ResiliencePipelineBuilder<ProviderResult> { TimeProvider = time }
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions<ProviderResult>
            {
                FailureRatio = settings.FailureRatio,
                MinimumThroughput = settings.MinimumThroughput,
                SamplingDuration = settings.SamplingDuration,
                BreakDuration = settings.BreakDuration,
                ManualControl = breaker.Control,
                StateProvider = breaker.State,
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Result is ProviderFailure f && CountsAgainstProvider(f.Class)),
                OnOpened = args =>
                {
                    // An isolation is logged by IsolateAsync or HoldOpenAsync, with its reason and bound.
                    if (!args.IsManual)
                        Log.BreakerOpened(logger, provider, model, args.BreakDuration.TotalSeconds, args.IsManual);
                    lock (breaker)
                    {
                        breaker.LastOpenedAt = time.GetUtcNow();
                    }

                    Transition(breaker, provider, model, opened: true, args.IsManual);
                    return ValueTask.CompletedTask;
                },
                OnHalfOpened = _ =>
                {
                    Log.BreakerHalfOpen(logger, provider, model);
                    return ValueTask.CompletedTask;
                },
                OnClosed = _ =>
                {
                    Log.BreakerClosed(logger, provider, model);
                    Transition(breaker, provider, model, opened: false, manual: false);
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
        return breaker;
    }

    /// <summary>
    /// Records a change between closed and open. Isolating an already open breaker, or a failed half-open probe
    /// re-opening it, is the same outage: not another opening.
    /// </summary>
    private void Transition(Breaker breaker, string provider, string model, bool opened, bool manual)
    {
        lock (breaker)
        {
            if (opened == breaker.OpenSince.HasValue)
                return;
            breaker.OpenSince = opened ? time.GetUtcNow() : null;
        }

        events?.Record(provider, model, !opened ? BreakerTransition.Closed : manual ? BreakerTransition.Isolated : BreakerTransition.Opened);
    }

    private sealed class Breaker(CircuitBreakerManualControl control, CircuitBreakerStateProvider state)
    {
        public int ConsecutivePingFailures;

        public ResiliencePipeline<ProviderResult> Pipeline { get; set; } = ResiliencePipeline<ProviderResult>.Empty;

        public CircuitBreakerManualControl Control { get; } = control;

        public CircuitBreakerStateProvider State { get; } = state;

        /// <summary>Guarded by the instance's lock.</summary>
        public DateTimeOffset? OpenSince { get; set; }

        /// <summary>The latest opening (a failed half-open probe re-opens it); guarded by the instance's lock.</summary>
        public DateTimeOffset? LastOpenedAt { get; set; }

        /// <summary>Set while isolated by a rejected call: when its trial may run. Guarded by the instance's lock.</summary>
        public DateTimeOffset? AuthBreakUntil { get; set; }

        /// <summary>Guarded by the instance's lock.</summary>
        public bool AuthTrialInFlight { get; set; }
    }
}
