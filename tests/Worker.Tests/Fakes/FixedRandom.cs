namespace Worker.Tests.Fakes;

/// <summary>Jitter made predictable: every sample is the same value.</summary>
public sealed class FixedRandom(double sample) : Random
{
    public override double NextDouble() => sample;
}
