using Microsoft.Extensions.Options;

namespace Worker.DeadLetters;

/// <summary>Which chain failures are parked for ops replay (DeadLetters:ParkReasons), parsed once at start.</summary>
public sealed class ParkingPolicy(IOptions<DeadLettersOptions> options)
{
    private readonly IReadOnlySet<string> _reasons = options.Value.ParkReasonSet();

    public bool ShouldPark(string failureReason) => _reasons.Contains(failureReason);
}
