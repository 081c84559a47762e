using Worker.Simulator.Faults;

namespace Worker.Simulator.Calls;

/// <summary>The part of a call every wire format shares: latency, hangs and resets.</summary>
internal static class CallPipeline
{
    /// <summary>A hung call gives up after this, so a forgotten client cannot pin a connection for ever.</summary>
    public static readonly TimeSpan HangCap = TimeSpan.FromMinutes(10);

    /// <summary>Waits out the latency, plays transport faults, and otherwise lets <paramref name="answer"/> write the body.</summary>
    public static async Task<IResult> PlayAsync(HttpContext context, CallPlan plan, Func<Fault, IResult> answer)
    {
        var time = context.RequestServices.GetRequiredService<TimeProvider>();
        var stopping = context.RequestServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        var state = context.RequestServices.GetRequiredService<SimulatorState>();
        state.CallStarted();
        try
        {
            return await PlayCoreAsync(context, plan, answer, time, stopping);
        }
        finally
        {
            state.CallEnded();
        }
    }

    private static async Task<IResult> PlayCoreAsync(HttpContext context, CallPlan plan, Func<Fault, IResult> answer, TimeProvider time, CancellationToken stopping)
    {
        // Shutdown ends hangs too, otherwise stopping the host would wait for its shutdown timeout.
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);
        try
        {
            if (plan.Latency > TimeSpan.Zero)
                await Task.Delay(plan.Latency, time, wait.Token);
            if (plan.Held is { } held)
                await held.WaitAsync(HangCap, time, wait.Token);
            if (plan.Fault == Fault.Hang)
                await Task.Delay(HangCap, time, wait.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or TimeoutException)
        {
            // The client is gone (or the host is stopping): there is nobody to answer.
        }

        if (plan.Fault is Fault.Hang or Fault.Reset || wait.IsCancellationRequested)
        {
            // A hang past its cap ends like a dead upstream: the connection drops, no status line.
            context.Abort();
            return TypedResults.Empty;
        }
        return answer(plan.Fault);
    }
}
