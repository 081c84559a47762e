using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Worker.Requests;

/// <summary>
/// How long a delivery's claim on a request lasts and how often it is renewed. This feature owns the claims; the keys
/// stay where they have always been, in the <c>Messaging</c> section (<c>Messaging:ClaimLease</c>,
/// <c>Messaging:ClaimRenewInterval</c>), beside the consumer settings they go with.
/// </summary>
public sealed class ClaimLeaseOptions
{
    public const string Section = "Messaging";

    /// <summary>
    /// How long a delivery's claim on a request holds without renewal. While a chain runs the claim is renewed every
    /// <see cref="ClaimRenewInterval"/>; an instance that dies stops renewing, and its requests may run again once the
    /// lease has lapsed. A duplicate delivery waits (durably) for the lease rather than calling a provider.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:02", "01:00:00")]
    public TimeSpan ClaimLease { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How often the claims of running requests are renewed; well below <see cref="ClaimLease"/>.</summary>
    [Range(typeof(TimeSpan), "00:00:00.500", "00:30:00")]
    public TimeSpan ClaimRenewInterval { get; set; } = TimeSpan.FromSeconds(15);
}

/// <summary>Checks that a claim is renewed well within its lease.</summary>
public sealed class ClaimLeaseOptionsValidator : IValidateOptions<ClaimLeaseOptions>
{
    public ValidateOptionsResult Validate(string? name, ClaimLeaseOptions o)
    {
        var problems = new OptionProblems();
        problems.Check(o.ClaimRenewInterval * 2 <= o.ClaimLease, $"{ClaimLeaseOptions.Section}:ClaimRenewInterval",
            $"must be at most half of Messaging:ClaimLease ({OptionProblems.Text(o.ClaimLease)}), was {OptionProblems.Text(o.ClaimRenewInterval)}");
        return problems.Result();
    }
}
