namespace Worker.Chain;

/// <summary>Exponential backoff with symmetric jitter, capped, honouring a provider's Retry-After.</summary>
public static class Backoff
{
    /// <summary><c>BaseDelay * Factor^(retry-1)</c>, capped at MaxDelay, spread by plus or minus the jitter ratio (never past the cap).</summary>
    /// <param name="retry">1 for the first retry of the class on a step, 2 for the second, ...</param>
    /// <param name="retryAfter">What the provider asked for, if anything: it wins over the computed delay.</param>
    /// <param name="random">A sample in [0, 1): tests pass a fixed value.</param>
    public static TimeSpan Delay(RetryPolicy policy, int retry, TimeSpan? retryAfter, double random)
    {
        if (retryAfter is { } asked && asked > TimeSpan.Zero)
        {
            // Never earlier than asked; a little later, so many requests told "1 s" do not return together.
            return asked + asked * (policy.JitterRatio * random);
        }

        // In ticks as a double: a large factor or retry overflows TimeSpan's multiplication before the cap applies.
        var exponential = policy.BaseDelay.Ticks * Math.Pow(policy.Factor, Math.Max(0, retry - 1));
        var capped = exponential < policy.MaxDelay.Ticks ? TimeSpan.FromTicks((long)Math.Round(exponential)) : policy.MaxDelay;
        var jittered = capped * (1 + policy.JitterRatio * (2 * random - 1));
        return jittered < policy.MaxDelay ? jittered : policy.MaxDelay;
    }
}
