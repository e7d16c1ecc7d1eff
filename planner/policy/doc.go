// Package policy evaluates a stack's policy blocks on a plan: CEL
// conditions (github.com/google/cel-go, the language of Kubernetes'
// ValidatingAdmissionPolicy) that every matched change must satisfy.
//
// A Compiler compiles a Spec into a Policy, reporting syntax errors,
// unknown variables and type errors as Issues located in the expression;
// Evaluate checks a plan's changes against compiled policies and returns
// the violations as plan.PolicyResults. Evaluation is a pure function of
// the policies, the plan and the stack's variables: applying a saved plan
// evaluates the stack's current policies on it again.
package policy
