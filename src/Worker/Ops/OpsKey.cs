using System.Security.Cryptography;
using System.Text;

namespace Worker.Ops;

/// <summary>What the ops routes do with a call, given its <c>Authorization</c> header.</summary>
public enum OpsAccess
{
    /// <summary>No key is configured: the routes are off.</summary>
    Disabled,

    /// <summary>No bearer token was presented.</summary>
    MissingToken,

    /// <summary>A bearer token was presented and it is not the key.</summary>
    WrongToken,

    Allowed,
}

/// <summary>The configured ops key, held only as its SHA-256 so the plain key is not kept around after start.</summary>
public sealed class OpsKey
{
    private readonly byte[]? _hash;

    public OpsKey(string? apiKey)
    {
        _hash = string.IsNullOrWhiteSpace(apiKey) ? null : SHA256.HashData(Encoding.UTF8.GetBytes(apiKey));
    }

    public bool Enabled => _hash is not null;

    public OpsAccess Check(string? authorization)
    {
        if (_hash is null)
            return OpsAccess.Disabled;

        const string scheme = "Bearer ";
        if (authorization is null || !authorization.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
            return OpsAccess.MissingToken;

        var token = authorization[scheme.Length..].Trim();
        if (token.Length == 0)
            return OpsAccess.MissingToken;

        // Comparing fixed-size hashes in constant time: the time taken reveals neither the key's content nor its length.
        var presented = SHA256.HashData(Encoding.UTF8.GetBytes(token));
        return CryptographicOperations.FixedTimeEquals(presented, _hash) ? OpsAccess.Allowed : OpsAccess.WrongToken;
    }
}
