namespace Worker.Chain;

/// <summary>Exponential backoff with symmetric jitter, capped, honouring a provider's Retry-After.</summary>
public static class Backoff
{
    /// <param name="retry">1 for the first retry on a step, 2 for the second, ...</param>
    /// <param name="retryAfter">What the provider asked for, if anything: it wins over the computed delay.</param>
    /// <param name="random">A sample in [0, 1): tests pass a fixed value.</param>
    public static TimeSpan Delay(ChainStep step, int retry, TimeSpan? retryAfter, double random)
    {
        if (retryAfter is { } asked && asked > TimeSpan.Zero)
        {
            // Never earlier than asked; a little later, so many requests told "1 s" do not return together.
            return asked + asked * (step.JitterRatio * random);
        }

        var exponential = step.BaseDelay * Math.Pow(2, Math.Max(0, retry - 1));
        var capped = exponential < step.MaxDelay ? exponential : step.MaxDelay;
        var jittered = capped * (1 + step.JitterRatio * (2 * random - 1));
        return jittered < step.MaxDelay ? jittered : step.MaxDelay;
    }
}
