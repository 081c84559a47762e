using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using Worker.Simulator.Faults;

namespace Worker.Simulator.Calls;

/// <summary>
/// Fault profiles and call counters of every target: the one shared object behind the provider routes and the
/// admin API. Get it from DI (<c>app.Services.GetRequiredService&lt;SimulatorState&gt;()</c>) to drive the simulator
/// from an in-process test. Thread-safe. Target names ignore case.
/// </summary>
public sealed class SimulatorState
{
    private readonly ConcurrentDictionary<string, TargetState> _targets = new(StringComparer.OrdinalIgnoreCase);
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private long _sequence;
    private long _inFlight;
    private readonly List<(long Count, TaskCompletionSource Reached)> _inFlightWaiters = [];

    /// <param name="time">Clock for outage windows and <see cref="CallRecord.ReceivedAt"/>.</param>
    public SimulatorState(TimeProvider time, ILogger<SimulatorState>? logger = null)
    {
        _time = time;
        _logger = logger ?? NullLogger<SimulatorState>.Instance;
    }

    /// <summary>Calls admitted and not answered yet (waiting out latency, hanging), across all targets.</summary>
    public long InFlight => Interlocked.Read(ref _inFlight);

    internal void CallStarted()
    {
        var inFlight = Interlocked.Increment(ref _inFlight);
        lock (_inFlightWaiters)
        {
            _inFlightWaiters.RemoveAll(w => w.Count <= inFlight && w.Reached.TrySetResult());
        }
    }

    /// <summary>
    /// Completes once at least <paramref name="count"/> calls are in flight at the same time: a test waits on the calls it
    /// holds arriving, not on time.
    /// </summary>
    public Task InFlightReachedAsync(long count, CancellationToken cancellationToken)
    {
        var waiter = (Count: count, Reached: new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        lock (_inFlightWaiters)
        {
            if (InFlight >= count)
                return Task.CompletedTask;
            _inFlightWaiters.Add(waiter);
        }

        return waiter.Reached.Task.WaitAsync(cancellationToken);
    }

    internal void CallEnded() => Interlocked.Decrement(ref _inFlight);

    /// <summary>Every target that has a profile or has been called, in name order.</summary>
    public IReadOnlyList<string> Targets => [.. _targets.Keys.Order(StringComparer.OrdinalIgnoreCase)];

    /// <summary>
    /// Replaces the target's profile: the script starts from its first item and the outage window starts now.
    /// Counters are kept.
    /// </summary>
    /// <exception cref="ArgumentException">A fault name or number is invalid; the message names it.</exception>
    public void SetProfile(string target, FaultProfile profile)
    {
        var active = new ActiveProfile(profile, _time.GetUtcNow());
        Target(target).SetProfile(active);
        Log.ProfileSet(_logger, target, profile.Always, profile.Script.Count, profile.Rates.Count, profile.OutageSeconds, profile.LatencyMs);
    }

    /// <summary>Makes the target healthy again. Counters are kept.</summary>
    public void ClearProfile(string target)
    {
        if (_targets.TryGetValue(target, out var state))
            state.SetProfile(null);
        Log.ProfileCleared(_logger, target);
    }

    /// <summary>The target's profile as set (a copy), or null when it is healthy.</summary>
    public FaultProfile? GetProfile(string target) =>
        _targets.TryGetValue(target, out var state) ? state.Profile().Profile : null;

    /// <summary>Counters of one target, or summed over all targets when <paramref name="target"/> is null.</summary>
    public CallCounters GetCounters(string? target = null) =>
        target is null ? CallCounters.Sum(_targets.Values.Select(t => t.Counters()))
        : _targets.TryGetValue(target, out var state) ? state.Counters()
        : new(0, 0, new Dictionary<Fault, long>(), new Dictionary<string, long>());

    /// <summary>The last 2,000 calls of one target, or of all targets when <paramref name="target"/> is null, oldest first.</summary>
    public IReadOnlyList<CallRecord> Recent(string? target = null) =>
        target is null
            ? [.. _targets.Values.SelectMany(t => t.Recent()).OrderBy(r => r.Sequence).TakeLast(TargetState.RecentCapacity)]
            : _targets.TryGetValue(target, out var state) ? state.Recent() : [];

    /// <summary>
    /// Calls per prompt (the last user message, cut to <see cref="PromptCounts.KeyLength"/> characters) of one target, or
    /// summed over all targets: with a unique prompt per request, the calls each request cost. Cleared with the counters.
    /// </summary>
    public IReadOnlyDictionary<string, PromptCounts> CallsByPrompt(string? target = null)
    {
        if (target is not null)
            return _targets.TryGetValue(target, out var one) ? one.ByPrompt() : new Dictionary<string, PromptCounts>();
        var sum = new Dictionary<string, PromptCounts>(StringComparer.Ordinal);
        foreach (var state in _targets.Values)
        {
            foreach (var (prompt, counts) in state.ByPrompt())
                sum[prompt] = sum.TryGetValue(prompt, out var c) ? new(c.Total + counts.Total, c.Succeeded + counts.Succeeded) : counts;
        }
        return sum;
    }

    /// <summary>Zeroes every counter and forgets recent calls; profiles stay in force.</summary>
    public void ClearCounters()
    {
        foreach (var state in _targets.Values)
            state.ClearCounters();
    }

    /// <summary>Forgets every target: all healthy, all counters zero.</summary>
    public void Clear()
    {
        foreach (var state in _targets.Values)
            state.SetProfile(null);
        _targets.Clear();
        Log.Cleared(_logger);
    }

    internal (FaultProfile? Profile, int ScriptRemaining, DateTimeOffset? OutageEndsAt) ProfileState(string target) =>
        _targets.TryGetValue(target, out var state) ? state.Profile() : (null, 0, null);

    /// <summary>Counts one call and decides what it gets; <paramref name="rejection"/> is an answer already decided by validation.</summary>
    internal CallPlan Admit(string target, string format, string model, Fault? rejection = null, string? prompt = null, int tokens = 0)
    {
        var plan = Target(target).Admit(format, model, rejection, _time.GetUtcNow(), () => Interlocked.Increment(ref _sequence), prompt, tokens);
        Log.Call(_logger, format, target, model, plan.Fault.ToWireName());
        return plan;
    }

    private TargetState Target(string name) => _targets.GetOrAdd(name, static n => new TargetState(n));
}
