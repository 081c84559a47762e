namespace Worker.Ops;

/// <summary>The ops HTTP API's one setting: its bearer token, read from <c>OPS_API_KEY</c>.</summary>
public sealed class OpsOptions
{
    /// <summary>The configuration key and environment variable that holds the token.</summary>
    public const string ApiKeyKey = "OPS_API_KEY";

    /// <summary>Shorter keys are refused at start: the token is the only thing guarding the audit trail.</summary>
    public const int MinimumKeyLength = 16;

    /// <summary>The bearer token every ops route requires. Unset or blank: the ops routes are off (404), never open.</summary>
    public string? ApiKey { get; set; }

    public bool Enabled => !string.IsNullOrWhiteSpace(ApiKey);
}
