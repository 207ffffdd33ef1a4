namespace ThinkWatch.Identity.Users;

public sealed record CreateUserRequest(string? Email, string? DisplayName, string? Role, string? Password, Guid[]? TeamIds);

public sealed record UpdateUserRequest(string? DisplayName, string? Role, bool? Disabled, string? Password);

public sealed record UserDetails(Guid Id, string Email, string DisplayName, string Role, bool Disabled, bool HasPassword,
    DateTimeOffset CreatedAt, IReadOnlyList<Guid> TeamIds);

public sealed record CreateTeamRequest(string? Name);

public sealed record TeamView(Guid Id, string Name, DateTimeOffset CreatedAt, IReadOnlyList<TeamMemberView> Members);

public sealed record TeamMemberView(Guid UserId, bool IsManager);

public sealed record AddMemberRequest(Guid? UserId, bool? IsManager);
